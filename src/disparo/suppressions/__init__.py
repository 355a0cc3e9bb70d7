"""The suppression list (issue 15, opt-outs): people who asked not to be contacted, by
normalised phone. Ingest and claim (disparo.campaigns) skip them with reason `opt-out`."""
