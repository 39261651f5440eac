"""Chat intake keywords are ticket catalog data (types.<key>.chat), validated when loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.tickets.conftest import T0
from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.tickets.domain import (
    DEFAULT_CATALOG_PATH,
    NewTicket,
    Source,
    TicketCatalog,
    load_catalog,
    open_ticket,
)


def _with(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    change(data["types"])
    path = tmp_path / "ticket_types.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("content", "expected"), [
    ("报修 二号厂房注塑机温控失灵", ("repair", "二号厂房注塑机温控失灵")),
    ("  投诉：快递外箱破损", ("complaint", "快递外箱破损")),
    ("报修", ("repair", "")),
    ("我要报修", None),
    ("", None),
])
def test_given_the_shipped_keywords_when_a_message_is_matched_then_type_and_text(
    catalog: TicketCatalog, content: str, expected,
) -> None:
    found = catalog.chat_intake(content)
    assert (found[0].key, found[1]) == expected if expected else found is None


def test_given_a_longer_keyword_of_another_type_then_the_longest_keyword_wins(tmp_path: Path) -> None:
    catalog = load_catalog(_with(tmp_path, lambda types: types["refund"].update(chat={"keywords": ["投诉退款"]})))

    ticket_type, text = catalog.chat_intake("投诉退款 订单 A-17 未到账")

    assert (ticket_type.key, text) == ("refund", "订单 A-17 未到账")


@pytest.mark.parametrize(("change", "named"), [
    (lambda types: types["refund"].update(chat={"keywords": ["报修"]}), "报修"),
    (lambda types: types["repair"]["chat"].update(text_field="repair_cost"), "types.repair.chat.text_field"),
    (lambda types: types["repair"]["chat"].update(text_field="no_such_field"), "types.repair.chat.text_field"),
    (lambda types: types["repair"]["chat"].update(keywords=[]), "chat.keywords"),  # pydantic names the list index
])
def test_given_a_bad_chat_intake_when_loaded_then_the_error_names_it(tmp_path: Path, change, named: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        load_catalog(_with(tmp_path, change))

    assert "ticket_types.yaml" in err.value.message and named in str(err.value.message) + str(err.value.details)


def test_given_a_chat_ticket_then_required_fields_wait_for_the_handler_but_values_are_still_checked(
    catalog: TicketCatalog,
) -> None:
    chat = NewTicket(type="repair", title="注塑机温控失灵", reporter="chenjing", source=Source.CHAT,
                     fields={"fault_description": "注塑机温控失灵"})
    assert open_ticket(catalog, chat, ticket_id="T1", now=T0).ticket.fields == {"fault_description": "注塑机温控失灵"}

    with pytest.raises(InvalidInput):  # the same ticket from the API needs device_name and location
        open_ticket(catalog, chat.model_copy(update={"source": Source.API}), ticket_id="T2", now=T0)
    with pytest.raises(InvalidInput):  # a value given is validated whatever the source
        open_ticket(catalog, chat.model_copy(update={"fields": {"repair_cost": -1}}), ticket_id="T3", now=T0)
