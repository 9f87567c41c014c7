"""What every read or export of personal data in full needs at the gateway: a reason (checked
here before the member service is called, which checks it again), and for exports the
exporter's name for the watermark."""

from __future__ import annotations

import uuid

from hongyun_platform.grpc.context import CallerContext

from hongyun_gateway.identity import accounts
from hongyun_gateway.problems import validation_problem
from hongyun_gateway.state import GatewayState

MIN_REASON_LENGTH = 2


def reveal_reason(reveal: bool, reason: str | None, *, export: bool = False) -> str:
    """The trimmed reason when `reveal`, "" otherwise; 422 when a reveal has no reason."""
    reason = (reason or "").strip()
    if reveal and len(reason) < MIN_REASON_LENGTH:
        verb = "导出" if export else "查看"
        raise validation_problem(
            [
                {
                    "field": "reason",
                    "message": f"{verb}完整信息需填写理由 (reveal needs a reason)",
                    "reason": "required",
                }
            ]
        )
    return reason if reveal else ""


async def exporter_label(state: GatewayState, caller: CallerContext) -> str:
    """The watermark names the account (username, display name) as well as its id."""
    try:
        account_id = uuid.UUID(caller.user_id)
    except ValueError:
        return caller.user_id
    async with state.identity_db.session() as session:
        account = await accounts.get(session, account_id)
    if account is None:
        return caller.user_id
    display = account.display_name or ""
    return f"{account.username} {display}".strip()
