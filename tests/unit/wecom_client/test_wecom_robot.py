"""Group-robot webhook client: message shapes, 20/min limiter, 93000, the key kept secret."""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import timedelta

import pytest

from tests.fixtures.wecom_api.router import API_BASE, WeComFixtureRouter
from wecom_oa.errors import InvalidInput
from wecom_oa.wecom.errors import ConfigurationError, ContentTooLarge, WeComFrequencyLimited
from wecom_oa.wecom.robot import RobotClient, RobotLimiter, RobotWebhookInvalid, robot_label

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def robot_router(clock):
    r = WeComFixtureRouter(clock=clock, robot_keys={KEY})
    yield r
    assert not r.missing


@pytest.fixture
def robot(robot_router, clock):
    return RobotClient(api_base=API_BASE, http=robot_router.http(), clock=clock, sleep=clock.sleep)


def test_given_text_with_mentions_then_body_and_key_param(robot, robot_router):
    robot.send_text(KEY, "生产进度落后", mentioned_list=["zhangsan", "@all"], mentioned_mobile_list=["13800001111"])

    call = robot_router.of("webhook/send")[0]
    assert call.params == {"key": KEY}
    assert call.body == {"msgtype": "text", "text": {"content": "生产进度落后", "mentioned_list": ["zhangsan", "@all"],
                                                     "mentioned_mobile_list": ["13800001111"]}}


def test_given_long_markdown_then_split_at_4096_bytes_and_text_at_2048(robot, robot_router):
    markdown = "\n".join(["> 第一车间：计划 100，实际 80 <font color=\"warning\">落后</font>"] * 100)
    text = "\n".join(["日报未提交：张三"] * 200)

    md_parts = robot.send_markdown(KEY, markdown)
    text_parts = robot.send_text(KEY, text, mentioned_list=["zhangsan"])

    bodies = robot_router.bodies("webhook/send")
    md = [b["markdown"]["content"] for b in bodies if b["msgtype"] == "markdown"]
    texts = [b["text"] for b in bodies if b["msgtype"] == "text"]
    assert md_parts == len(md) > 1 and all(len(p.encode()) <= 4096 for p in md)
    assert "\n".join(md) == markdown
    assert text_parts == len(texts) > 1 and all(len(t["content"].encode()) <= 2048 for t in texts)
    assert [("mentioned_list" in t) for t in texts] == [True] + [False] * (len(texts) - 1)


def test_given_image_then_base64_and_md5_of_raw_bytes(robot, robot_router):
    robot.send_image(KEY, PNG)

    image = robot_router.bodies("webhook/send")[0]["image"]
    assert base64.b64decode(image["base64"]) == PNG
    assert image["md5"] == hashlib.md5(PNG).hexdigest()


def test_given_bad_images_then_refused_locally(robot, robot_router):
    with pytest.raises(InvalidInput):
        robot.send_image(KEY, b"GIF89a....")
    with pytest.raises(ContentTooLarge):
        robot.send_image(KEY, PNG + b"\x00" * (2 * 1024 * 1024))
    assert robot_router.count("webhook/send") == 0


def test_given_news_and_cards_then_shapes_checked(robot, robot_router):
    robot.send_news(KEY, [{"title": "周报", "url": "https://example.com/r", "description": "本周进度"}])
    robot.send_template_card(KEY, {"card_type": "text_notice", "main_title": {"title": "通知"},
                                   "card_action": {"type": 1, "url": "https://example.com"}})

    with pytest.raises(InvalidInput):
        robot.send_news(KEY, [{"title": "x", "url": "u"}] * 9)
    with pytest.raises(InvalidInput):
        robot.send_template_card(KEY, {"card_type": "button_interaction"})
    assert [b["msgtype"] for b in robot_router.bodies("webhook/send")] == ["news", "template_card"]


def test_given_45_messages_then_limiter_waits_and_no_minute_window_exceeds_20(robot, robot_router, clock):
    start = clock.now()
    for i in range(45):
        robot.send_text(KEY, f"告警 {i}")

    times = [c.at for c in robot_router.of("webhook/send")]
    assert len(times) == 45
    for i, t in enumerate(times):
        in_window = [u for u in times[i:] if u - t < timedelta(seconds=60)]
        assert len(in_window) <= 20
    assert clock.now() - start >= timedelta(seconds=120)


def test_given_two_robots_then_limits_are_per_key(clock):
    limiter = RobotLimiter(per_minute=2)
    waits = [limiter.acquire(label, clock, clock.sleep) for label in ("a", "a", "b", "b")]
    assert waits == [0, 0, 0, 0]
    assert limiter.acquire("a", clock, clock.sleep) == pytest.approx(60)


def test_given_invalid_key_then_robot_webhook_invalid_without_the_key(robot, robot_router, caplog):
    bad = "00000000-dead-beef-0000-badbadbadbad"
    with caplog.at_level(logging.DEBUG), pytest.raises(RobotWebhookInvalid) as info:
        robot.send_text(bad, "x")

    assert isinstance(info.value, ConfigurationError) and info.value.errcode == 93000
    exposed = str(info.value) + repr(info.value.to_body()) + info.value.errmsg
    assert bad not in exposed
    assert bad not in " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert robot_router.count("webhook/send") == 1  # configuration errors are not retried


def test_given_45009_from_another_container_then_raised_for_a_later_retry(robot, robot_router):
    robot_router.script("webhook/send", 45009)

    with pytest.raises(WeComFrequencyLimited):
        robot.send_text(KEY, "x")
    assert robot_router.count("webhook/send") == 1


def test_given_key_then_label_is_stable_and_does_not_reveal_it():
    assert robot_label(KEY) == robot_label(KEY) != robot_label(KEY + "x")
    assert KEY[:8] not in robot_label(KEY)
