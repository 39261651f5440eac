"""Ticket catalog: templates, shared templates, stage requirements and loader validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.tickets.domain import (
    DEFAULT_CATALOG_PATH,
    MAX_FIELDS_PER_TEMPLATE,
    Status,
    TicketCatalog,
    load_catalog,
)


def _shipped() -> dict:
    return yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict, name: str = "ticket_types.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_given_shipped_catalog_when_loaded_then_seed_types_route_to_their_teams(catalog: TicketCatalog):
    teams = {t.key: t.team for t in catalog.types}
    assert teams["repair"] == "tech_support"
    assert teams["complaint"] == "customer_service"
    assert teams["refund"] == "finance"
    assert "inquiry" in teams
    assert catalog.type_map["repair"].label == "报修"


def test_given_required_from_after_sales_when_loaded_then_required_there_and_later_only(catalog):
    spec = catalog.template_for("repair").field_map["fault_description"]
    assert spec.label == "故障描述"
    assert spec.required_at == {"after_sales", "acceptance"}


def test_given_template_shared_by_two_types_when_type_requires_more_then_only_that_type_changes(catalog):
    assert catalog.type_map["complaint"].template == catalog.type_map["refund"].template
    refund = catalog.template_for("refund").field_map["refund_amount"]
    complaint = catalog.template_for("complaint").field_map["refund_amount"]
    assert Status.NEW in refund.required_at
    assert complaint.required_at == frozenset()


def test_given_unknown_type_when_looked_up_then_invalid_input_names_type(catalog):
    with pytest.raises(InvalidInput) as err:
        catalog.template_for("nope")
    assert err.value.details[0]["field"] == "type"


def test_given_template_with_too_many_fields_when_loaded_then_error_names_file_and_fields(tmp_path):
    data = _shipped()
    data["templates"]["general"]["fields"] = [
        {"key": f"f{i}", "label": f"字段{i}", "type": "text"} for i in range(MAX_FIELDS_PER_TEMPLATE + 1)
    ]
    data["templates"]["general"]["fields"].append(
        {"key": "question", "label": "问题", "type": "text"})
    with pytest.raises(ConfigurationError) as err:
        load_catalog(_write(tmp_path, data))
    assert "ticket_types.yaml" in err.value.message
    assert "templates.2.fields" in err.value.message


def test_given_exactly_max_fields_when_loaded_then_accepted(tmp_path):
    data = _shipped()
    fields = data["templates"]["general"]["fields"]
    fields += [{"key": f"f{i}", "label": f"字段{i}", "type": "text"} for i in range(MAX_FIELDS_PER_TEMPLATE - len(fields))]
    catalog = load_catalog(_write(tmp_path, data))
    assert len(catalog.template_map["general"].fields) == MAX_FIELDS_PER_TEMPLATE


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["routing"].pop("default"), "routing.default"),
        (lambda d: d["types"]["repair"].update(template="missing"), "unknown template 'missing'"),
        (lambda d: d["types"]["repair"].update(team="ghosts"), "unknown team 'ghosts'"),
        (lambda d: d["templates"]["general"]["fields"][0].pop("options"), "options are required"),
        (lambda d: d["templates"]["general"]["fields"][1].update(required_from="nowhere"), "unknown stage 'nowhere'"),
        (lambda d: d["templates"]["general"]["fields"][1].update(required_at=["limbo"]), "unknown stages ['limbo']"),
        (lambda d: d["routing"]["rules"][0]["when"]["fields"][0].update({"in": ["huge"]}), "no option(s) ['huge']"),
        (lambda d: d["routing"]["rules"][1]["when"]["fields"][0].update(field="no_such"), "no template of its types has field"),
        (lambda d: d["routing"]["rules"][2]["when"]["fields"][0].update(gte=3), "not comparable"),
        (lambda d: d["routing"]["rules"][0].update(route={"cc": ["x"]}), "needs a team and/or an assignee"),
        (lambda d: d["types"]["refund"]["require"].update(ghost=["new"]), "unknown field 'ghost'"),
        (lambda d: d["templates"]["general"]["stages"].append({"key": "closed", "label": "x"}), "reuse status names"),
    ],
)
def test_given_broken_catalog_when_loaded_then_configuration_error_names_the_problem(tmp_path, mutate, expected):
    data = _shipped()
    mutate(data)
    with pytest.raises(ConfigurationError) as err:
        load_catalog(_write(tmp_path, data, "broken.yaml"))
    assert err.value.message.startswith("broken.yaml: ")
    assert expected in err.value.message


def test_given_unparseable_yaml_when_loaded_then_error_names_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("types: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        load_catalog(path)
    assert "bad.yaml" in err.value.message


def test_given_missing_file_when_loaded_then_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError) as err:
        load_catalog(tmp_path / "absent.yaml")
    assert "absent.yaml" in err.value.message
