"""The WeCom side of web login, as the sandbox plays it (local mode's console login).

WeCom serves two login pages: OAuth2 网页授权 inside the WeCom client
(`open.weixin.qq.com/connect/oauth2/authorize`, silent for `snsapi_base`) and 企业微信扫码登录 on a
PC (`login.work.weixin.qq.com/wwlogin/sso/login`, a QR code scanned with the phone). Both send the
browser back to `redirect_uri?code=CODE&state=STATE`; the app turns the code into a userid with
`cgi-bin/auth/getuserinfo` (once, within 5 minutes).

Here both pages list the sandbox company's members: picking one is "being that person in WeCom" (the
silent OAuth of someone already logged in, or a scan with their phone). The pages check what WeCom
checks before redirecting: the `appid` is the corp id, the flow's own parameters are present, and
`redirect_uri` is on the app's trusted domain (here: this server).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode, urlsplit

FLOWS = {"/connect/oauth2/authorize": "oauth", "/wwlogin/sso/login": "qr"}
PICK = "/login/pick"


def _page(title: str, body: str, status: int = 200) -> tuple[int, dict[str, str], str]:
    doc = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><meta name='viewport' "
           f"content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title><style>"
           "body{font-family:system-ui,'WenQuanYi Zen Hei',sans-serif;max-width:560px;margin:24px auto;padding:0 12px}"
           "a.user{display:block;padding:10px 12px;margin:6px 0;border:1px solid #ddd;border-radius:6px;"
           "text-decoration:none;color:#222}a.user small{color:#888;margin-left:8px}</style></head>"
           f"<body><h2>{html.escape(title)}</h2>{body}</body></html>")
    return status, {"content-type": "text/html; charset=utf-8"}, doc


def _error(message: str) -> tuple[int, dict[str, str], str]:
    return _page("企业微信（沙箱）", f"<p role='alert'>{html.escape(message)}</p>", 400)


def _problem(flow: str, args: Any, corp_id: str, trusted_host: str) -> str | None:
    if args.get("appid") != corp_id:
        return "appid 不是本企业的 CorpID"
    redirect = args.get("redirect_uri") or ""
    parts = urlsplit(redirect)
    if parts.scheme not in ("http", "https") or parts.netloc != trusted_host:
        return f"redirect_uri 的域名须与应用的可信域名一致（{trusted_host}）"
    if flow == "oauth" and (args.get("response_type") != "code" or args.get("scope") not in ("snsapi_base", "snsapi_privateinfo")):
        return "response_type 须为 code，scope 须为 snsapi_base 或 snsapi_privateinfo"
    if flow == "qr" and args.get("login_type") != "CorpApp":
        return "login_type 须为 CorpApp（企业自建应用）"
    return None


def login_page(flow: str, args: Any, sandbox: Any, corp_id: str, trusted_host: str) -> tuple[int, dict[str, str], str]:
    """The member picker standing in for WeCom's login page of `flow` (oauth or qr)."""
    problem = _problem(flow, args, corp_id, trusted_host)
    if problem:
        return _error(problem)
    title = "企业微信扫码登录（沙箱）" if flow == "qr" else "企业微信网页授权（沙箱）"

    links = []
    for user in sandbox.members():
        query = urlencode({"userid": user["userid"], "redirect_uri": args["redirect_uri"], "state": args.get("state", "")})
        links.append(f"<a class='user' href='/_sandbox{PICK}?{html.escape(query)}' data-userid='{html.escape(user['userid'])}'>"
                     f"{html.escape(user['name'])}<small>{html.escape(user['userid'])} · {html.escape(user['position'])}"
                     "</small></a>")
    hint = "选择以谁的身份扫码：" if flow == "qr" else "选择在企业微信中打开此页面的成员："
    return _page(title, f"<p>{hint}</p>{''.join(links)}")


def pick(args: Any, sandbox: Any, trusted_host: str) -> tuple[int, dict[str, str], str]:
    """The member picked: back to the app with a fresh code and the app's state."""
    from local.sandbox.errcodes import ApiError

    redirect = args.get("redirect_uri") or ""
    if urlsplit(redirect).netloc != trusted_host:
        return _error("redirect_uri 的域名须与应用的可信域名一致")
    try:
        code = sandbox.issue_login_code(args.get("userid") or "")
    except ApiError:
        return _error("没有这个成员")
    sep = "&" if "?" in redirect else "?"
    location = f"{redirect}{sep}{urlencode({'code': code, 'state': args.get('state', '')})}"
    return 302, {"location": location, "content-type": "text/html; charset=utf-8"}, ""
