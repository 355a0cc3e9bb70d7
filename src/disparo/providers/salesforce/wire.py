"""Salesforce Core and Marketing Cloud shapes (CONTRACTS.md 5.6)."""

from __future__ import annotations

from typing import Literal, TypedDict


class ContactAttributes(TypedDict):
    type: Literal["Contact"]


# Field names are Salesforce's API names (custom fields end in __c).
class ContactRecord(TypedDict):
    attributes: ContactAttributes
    MobilePhone: str
    LastName: str
    CPF_CNPJ__c: str
    Operacao__c: str
    disparo__c: bool


class CollectionsBody(TypedDict):
    allOrNone: bool
    records: list[ContactRecord]


class McTokenBody(TypedDict, total=False):
    grant_type: Literal["client_credentials"]
    client_id: str
    client_secret: str
    account_id: str
