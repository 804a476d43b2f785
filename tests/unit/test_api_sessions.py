"""Session endpoints: list mine, full result, report (json/md/html), delete."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import (
    client,
    completed_session,
    database,
    headers_for,
    isolated_env,
    new_session,
    owner_id,
)
from timemachine.models.auth import Role
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures

SESSIONS = "/api/time-machine/sessions"


def test_list_my_sessions_newest_first_and_by_status(client: TestClient) -> None:
    done = completed_session(client)
    pending = new_session(client)
    mallory = headers_for(client, "mallory")
    theirs = new_session(client, owner=owner_id(client, "mallory"))
    page = client.get(SESSIONS).json()
    assert page["total"] == 2
    assert [s["id"] for s in page["items"]] == [pending.id, done.id]
    completed = client.get(SESSIONS, params={"status": "completed"}).json()
    assert [s["id"] for s in completed["items"]] == [done.id]
    # user_id (the old way to pick an owner) is ignored: still only mine
    assert client.get(SESSIONS, params={"user_id": "mallory"}).json()["total"] == 2
    assert [s["id"] for s in client.get(SESSIONS, headers=mallory).json()["items"]] == [theirs.id]
    paged = client.get(SESSIONS, params={"limit": 1, "offset": 1}).json()
    assert [s["id"] for s in paged["items"]] == [done.id]


def test_admins_list_everybody_or_one_owner(client: TestClient) -> None:
    mine = new_session(client)
    theirs = new_session(client, owner=owner_id(client, "mallory"))
    admin = headers_for(client, "root", Role.ADMIN)
    everybody = client.get(SESSIONS, headers=admin).json()
    assert {s["id"] for s in everybody["items"]} == {mine.id, theirs.id}
    only = client.get(SESSIONS, headers=admin, params={"owner": "mallory"}).json()
    assert [s["id"] for s in only["items"]] == [theirs.id]
    # a non-admin's owner filter is ignored
    assert client.get(SESSIONS, params={"owner": "mallory"}).json()["items"][0]["id"] == mine.id


def test_list_with_bad_status_is_422(client: TestClient) -> None:
    assert client.get(SESSIONS, params={"status": "dreaming"}).status_code == 422


def test_full_result(client: TestClient) -> None:
    record = completed_session(client)
    body = client.get(f"{SESSIONS}/{record.id}").json()
    assert body["session"]["status"] == "completed"
    assert len(body["results"]) == 1
    result = body["results"][0]
    assert result["analysis"]["findings"][0]["vulnerability_class"] == "reentrancy"
    assert result["replay"]["trace"] is not None


def test_unknown_session_is_404(client: TestClient) -> None:
    assert client.get(f"{SESSIONS}/nope").status_code == 404
    assert client.get(f"{SESSIONS}/nope/report").status_code == 404


def test_report_json_md_html(client: TestClient) -> None:
    record = completed_session(client)
    as_json = client.get(f"{SESSIONS}/{record.id}/report")
    assert as_json.status_code == 200
    assert as_json.json()["findings"][0]["vulnerability_class"] == "reentrancy"
    markdown = client.get(f"{SESSIONS}/{record.id}/report", params={"format": "md"})
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("#")
    assert "reentrancy" in markdown.text.lower()
    html = client.get(f"{SESSIONS}/{record.id}/report", params={"format": "html"})
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.startswith("<!DOCTYPE html>")
    assert "Call tree" in html.text


def test_report_bad_format_or_index(client: TestClient) -> None:
    record = completed_session(client)
    assert client.get(f"{SESSIONS}/{record.id}/report", params={"format": "pdf"}).status_code == 422
    missing = client.get(f"{SESSIONS}/{record.id}/report", params={"tx_index": 3})
    assert missing.status_code == 404
    assert "tx_index 3" in missing.json()["detail"]


def test_report_of_a_pending_session_is_409(client: TestClient) -> None:
    record = new_session(client)
    response = client.get(f"{SESSIONS}/{record.id}/report")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"]


def test_report_without_analysis_is_404(client: TestClient) -> None:
    record = completed_session(client, with_analysis=False)
    response = client.get(f"{SESSIONS}/{record.id}/report")
    assert response.status_code == 404
    assert "include_analysis" in response.json()["detail"]


def test_html_report_needs_the_call_tree(client: TestClient) -> None:
    record = completed_session(client, with_trace=False)
    assert client.get(f"{SESSIONS}/{record.id}/report", params={"format": "md"}).status_code == 200
    response = client.get(f"{SESSIONS}/{record.id}/report", params={"format": "html"})
    assert response.status_code == 404
    assert "detailed_tracing" in response.json()["detail"]


def test_delete_a_finished_session(client: TestClient) -> None:
    record = completed_session(client, owner=owner_id(client, "bob"))
    assert client.delete(f"{SESSIONS}/{record.id}").status_code == 404  # not alice's
    response = client.delete(f"{SESSIONS}/{record.id}", headers=headers_for(client, "bob"))
    assert response.status_code == 200
    assert response.json() == {"session_id": record.id, "deleted": True, "cancelled": False}
    assert (
        client.get(f"{SESSIONS}/{record.id}", headers=headers_for(client, "bob")).status_code == 404
    )


@pytest.mark.parametrize("running", [False, True])
def test_delete_an_active_session_is_409(client: TestClient, running: bool) -> None:
    record = new_session(client)
    if running:
        with database(client).session() as s:
            ReplaySessions(s).start(record.id)
    response = client.delete(f"{SESSIONS}/{record.id}")
    assert response.status_code == 409
    assert "cancel it" in response.json()["detail"]
