import httpx

from tests.conftest import StackFactory


async def test_explore(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    async with httpx.AsyncClient(base_url=stack.api.url, headers={"X-API-KEY": stack.api_key}) as c:
        for content in [
            b"{bad",
            b"[]",
            b'"x"',
            b"42",
            b"",
            b'{"agendamento_id": "C1\\u0000x"}',
            b'{"agendamento_id": "' + b"C" * 101 + b'"}',
        ]:
            r = await c.post(
                "/campaigns/dispatch", content=content, headers={"content-type": "application/json"}
            )
            print(content[:30], r.status_code, r.text)
        r = await c.post(
            "/campaigns/dispatch",
            content=b'{"agendamento_id":"C1"}',
            headers={"content-type": "text/plain"},
        )
        print("text/plain", r.status_code, r.text)
        r = await c.post(
            "/campaigns/dispatch", content=b'{"agendamento_id":"C2"}', headers={"content-type": ""}
        )
        print("no ct", r.status_code, r.text)
        for path in [
            "/campaigns?status=NOPE",
            "/campaigns?limit=0",
            "/campaigns?limit=x",
            "/campaigns/C1%00/status",
            "/campaigns/ab/messages?after=-1",
        ]:
            r = await c.get(path)
            print(path, r.status_code, r.text)
        for h in [" test-api-key ", "\ttest-api-key\t", "   "]:
            try:
                r = await c.get("/campaigns", headers={"X-API-KEY": h})
                print(repr(h), r.status_code, r.text[:100])
            except Exception as e:
                print(repr(h), "EXC", e)
        r = await c.post("/campaigns/dispatch", content=b"{bad", headers={"X-API-KEY": ""})
        print("noauth bad json", r.status_code, r.text)
