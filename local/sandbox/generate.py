"""A generated sandbox company of N stores (departments) under R regions, for scale tests and
benchmarks: a dealer network the size of Li Ning's (6000 stores under 60 regions is 6061 members).

    python -m local.sandbox.generate --stores 6000 --regions 60 -o /tmp/stores.yaml
    SANDBOX_DIRECTORY=/tmp/stores.yaml make run

Department 1 is the company (leader: the chairman `boss`), 2..R+1 the regions (leader: a region
manager `r001` …), then one department per store (leader: its store manager `s00001` …, who is
also its only member unless `--staff` adds more). Names are Chinese, as WeCom shows them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

PROVINCES = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")


def stores_company(stores: int, regions: int, *, staff: int = 0) -> dict[str, Any]:
    """The sandbox directory document (see local/sandbox/directory.py for the shape)."""
    if stores < 1 or regions < 1 or regions > stores:
        raise ValueError("need 1 ≤ regions ≤ stores")
    departments: list[dict[str, Any]] = [{"id": 1, "name": "星辰体育用品有限公司", "leaders": ["boss"]}]
    users: list[dict[str, Any]] = [{"userid": "boss", "name": "王董事长", "departments": [1], "main_department": 1,
                                    "position": "董事长"}]
    for r in range(regions):
        dept = 2 + r
        manager = f"r{r + 1:03d}"
        departments.append({"id": dept, "name": f"{PROVINCES[r % len(PROVINCES)]}{r + 1}区", "parentid": 1,
                            "leaders": [manager]})
        users.append({"userid": manager, "name": f"区域经理{r + 1}", "departments": [dept], "main_department": dept,
                      "direct_leader": ["boss"], "position": "区域经理"})
    first_store = 2 + regions
    for s in range(stores):
        dept, region = first_store + s, 2 + s % regions
        manager = f"s{s + 1:05d}"
        departments.append({"id": dept, "name": f"第{s + 1}号门店", "parentid": region, "leaders": [manager]})
        users.append({"userid": manager, "name": f"店长{s + 1}", "departments": [dept], "main_department": dept,
                      "direct_leader": [f"r{s % regions + 1:03d}"], "position": "店长"})
        for k in range(staff):
            users.append({"userid": f"s{s + 1:05d}e{k + 1}", "name": f"店员{s + 1}-{k + 1}", "departments": [dept],
                          "main_department": dept, "direct_leader": [manager], "position": "店员"})
    return {"corp_name": "星辰体育用品有限公司", "departments": departments, "users": users}


def write(path: Path, stores: int, regions: int, *, staff: int = 0) -> Path:
    path.write_text(yaml.safe_dump(stores_company(stores, regions, staff=staff), allow_unicode=True,
                                   sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=6000)
    parser.add_argument("--regions", type=int, default=60)
    parser.add_argument("--staff", type=int, default=0, help="members per store besides its manager")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    write(args.output, args.stores, args.regions, staff=args.staff)
    print(f"wrote {args.output}: {args.stores} stores under {args.regions} regions")


if __name__ == "__main__":
    main()
