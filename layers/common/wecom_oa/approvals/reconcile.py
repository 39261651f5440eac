"""Approval reconciler (schedule `approval-reconcile`): heal lost `sys_approval_change` callbacks.

Lists the approvals applied for in the last window (`oa/getapprovalinfo`, ≤ 31 days per call) and
feeds each one's current state through the callback path (`callbacks.accept`): store under an
idempotency key, then enqueue for the worker. The key is `apv:{sp_no}:0:{sp_status}:{apply_time}`
(StatuChangeEvent 0 marks a reconciled state), so each (approval, status) is fed at most once
however often the sweep runs; the worker's approval handler is idempotent on the final state, so
an approval whose callback did arrive is not acted on twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wecom_oa import wiring
from wecom_oa.clock import get_clock
from wecom_oa.observability import logger, metrics
from wecom_oa.wecom import callbacks

DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=31)  # WeCom's limit for one getapprovalinfo window


def approval_event(detail: Any, corp_id: str, agent_id: int) -> Any:
    """The `sys_approval_change` event WeCom would have sent for the approval's current state."""
    from wecom_oa.wecom.events import (
        Applyer,
        ApprovalDetail,
        ApprovalInfo,
        ApprovalRecord,
        SysApprovalChangeEvent,
    )

    records = [ApprovalRecord(
        sp_status=r.get("sp_status"), approver_attr=r.get("approverattr"),
        details=[ApprovalDetail(approver_user_id=(d.get("approver") or {}).get("userid", ""),
                                speech=d.get("speech", ""), sp_status=d.get("sp_status"),
                                sp_time=int(d.get("sptime") or 0)) for d in r.get("details", [])],
    ) for r in detail.sp_record]
    info = ApprovalInfo(
        sp_no=str(detail.sp_no), sp_name=detail.sp_name, sp_status=detail.sp_status,
        template_id=detail.template_id, apply_time=detail.apply_time,
        applyer=Applyer(user_id=str(detail.applyer.get("userid", "")), party=str(detail.applyer.get("partyid", ""))),
        sp_record=records, notifyer=[str(n.get("userid", "")) for n in detail.notifyer], statu_change_event=0,
    )
    return SysApprovalChangeEvent(to_user_name=corp_id, from_user_name="sys", create_time=detail.apply_time,
                                  msg_type="event", event="sys_approval_change", agent_id=agent_id, approval=info)


def reconcile_approvals(window: timedelta = DEFAULT_WINDOW) -> dict[str, int]:
    window = min(window, MAX_WINDOW)
    client = wiring.wecom_client()
    creds = wiring.wecom_credentials()
    now = get_clock().now()
    seen = fed = 0
    for sp_no in client.oa_get_approval_info(now - window, now):
        seen += 1
        event = approval_event(client.oa_get_approval_detail(sp_no), creds.corp_id, creds.agent_id)
        before = callbacks.is_known(event.idempotency_key)
        callbacks.accept(event)
        fed += 0 if before else 1
    if fed:
        logger.warning("approval reconciler fed approvals the callbacks missed", extra={"fed": fed})
    metrics.add_metric(name="ApprovalsReconciled", unit="Count", value=fed)
    return {"listed": seen, "fed": fed}
