"""Drive the official UID2 Python SDK (uid2_client) against a running operator.

Every check calls the SDK's public clients (publisher, identity map v2 and v3,
bidstream, sharing, the legacy Uid2Client) with the operator's demo clients and
asserts known answers: opt-out identities, raw UIDs that agree across identity
map v2, v3 and decrypted tokens, which sites may decrypt which sharing tokens.
The "extra" checks call the routes the SDK has no client for (token validate,
opt-out status) through the SDK's own envelope functions, with an
X-UID2-AppVersion header, so that their metric families appear too.

Environment:
  OP_BASE         operator base URL, e.g. http://127.0.0.1:8080
  OP_CREDS        the JSON of `uid2-operator local credentials --json`
  OP_SCOPE        uid2 (default) or euid: the operator's identity_scope
  OP_EXTRA        1 (default) runs the extra checks, 0 only the SDK's clients
  OP_SDK_VERSION  version reported in X-UID2-AppVersion by the extra checks
  OP_CSTG         1 adds a client-side generated token (the operator must have CSTG on, as local mode does)
  OP_VERBOSE      1 prints a traceback for each failure
Prints PASS/FAIL per check and a SUMMARY line; exit status 1 when a check failed.
"""
import base64
import datetime as dt
import hashlib
import json
import os
import sys
import traceback
from urllib.error import HTTPError

from uid2_client import (AdvertisingTokenVersion, BidstreamClient, DecryptionStatus, IdentityMapClient, IdentityScope,
                         IdentityMapInput, IdentityMapV3Client, IdentityMapV3Input, SharingClient,
                         TokenGenerateInput, Uid2Client, Uid2PublisherClient)
from uid2_client.identity_tokens import IdentityTokens
from uid2_client.unmapped_identity_reason import UnmappedIdentityReason

BASE = os.environ["OP_BASE"]
CREDS = json.loads(os.environ["OP_CREDS"])
SCOPE = os.environ.get("OP_SCOPE", "uid2")


def tcf_string(purposes, vendor=21):
    """A TCF v2 core segment in which vendor has consent for purposes (IAB field table)."""
    bits = []

    def put(v, width):
        bits.extend((v >> i) & 1 for i in range(width - 1, -1, -1))

    def bitset(ids, width):
        bits.extend(1 if i in ids else 0 for i in range(1, width + 1))

    put(2, 6)                       # version
    put(0, 36), put(0, 36)          # created, last updated
    put(7, 12), put(1, 12)          # CMP id, CMP version
    put(1, 6)                       # consent screen
    put(4 * 64 + 13, 12)            # consent language "EN"
    put(100, 12), put(2, 6)         # vendor list version, policy version
    put(1, 1), put(0, 1)            # service specific, non-standard stacks
    put(0, 12)                      # special feature opt-ins
    bitset(purposes, 24)            # purposes consent
    bitset((), 24)                  # purposes LI transparency
    put(0, 1)                       # purpose one treatment
    put(5 * 64 + 17, 12)            # publisher CC "FR"
    put(vendor, 16), put(0, 1), bitset({vendor}, vendor)  # vendor consents, bitfield
    put(0, 16), put(0, 1)           # vendor legitimate interests: none
    put(0, 12)                      # no publisher restrictions
    bits.extend([0] * (-len(bits) % 8))
    raw = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# EUID requires purposes 1, 2, 3, 4, 7 and 10 for vendor 21 (tcf_vendor_id).
TCF_OK = tcf_string({1, 2, 3, 4, 7, 10})
TCF_NO = tcf_string({2, 3, 4, 7, 10})

passed, failed = [], []


def check(name):
    def run(fn):
        try:
            fn()
            passed.append(name)
            print("PASS", name)
        except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
            failed.append(name)
            print("FAIL", name, "--", type(e).__name__, e)
            if os.environ.get("OP_VERBOSE"):
                traceback.print_exc()
        return fn
    return run


def cred(name):
    c = CREDS[name]
    return c["api_key"], c["secret"]


def publisher(name="all"):
    return Uid2PublisherClient(BASE, *cred(name))


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_http(status, fn):
    try:
        fn()
    except HTTPError as e:
        expect(e.code == status, "HTTP %d, want %d" % (e.code, status))
        return
    raise AssertionError("no HTTPError, want HTTP %d" % status)


def gen(inp, name="all"):
    if SCOPE == "euid":
        inp = inp.with_transparency_and_consent_string(TCF_OK)
    return publisher(name).generate_token(inp)


def sha256_b64(s):
    return base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()


SCOPE_ENUM = {"uid2": IdentityScope.UID2, "euid": IdentityScope.EUID}[SCOPE]
prefix = {"uid2": ("A4", "B4"), "euid": ("E4", "F4")}[SCOPE]  # email, phone advertising token prefixes
state = {}


# ---- publisher: generate / refresh ----
@check("publisher: generate email, refresh twice")
def _():
    r = gen(TokenGenerateInput.from_email("sdk-check-user@example.com"))
    expect(r.is_success() and not r.is_optout(), "generate not success")
    ident = r.get_identity()
    expect(ident.get_advertising_token().startswith(prefix[0]), "email token prefix")
    expect(ident.is_refreshable() and not ident.is_due_for_refresh(), "fresh identity")
    state["email_token"] = ident.get_advertising_token()
    for _ in range(2):
        rr = publisher().refresh_token(ident)
        expect(rr.is_success() and not rr.is_optout(), "refresh not success")
        n = rr.get_identity()
        expect(n.get_refresh_token() != ident.get_refresh_token(), "refresh token not rotated")
        ident = n
    # The JSON round trip the SDK documents for storing an identity.
    again = publisher().refresh_token(IdentityTokens.from_json_string(ident.get_json_string()))
    expect(again.is_success(), "refresh from stored JSON")


@check("publisher: generate phone, hashed email, hashed phone")
def _():
    r = gen(TokenGenerateInput.from_phone("+15555550142"))
    expect(r.is_success(), "phone")
    expect(r.get_identity().get_advertising_token().startswith(prefix[1]), "phone token prefix")
    state["phone_token"] = r.get_identity().get_advertising_token()
    expect(gen(TokenGenerateInput.from_hashed_email(sha256_b64("sdk-check-user@example.com"))).is_success(), "hashed email")
    expect(gen(TokenGenerateInput.from_hashed_phone(sha256_b64("+15555550142"))).is_success(), "hashed phone")


@check("publisher: opted-out identities answer optout on generate")
def _():
    for email in ("optout@example.com", "local-mock-optout@example.com"):
        r = gen(TokenGenerateInput.from_email(email).do_not_generate_tokens_for_opted_out())
        expect(r.is_optout() and not r.is_success() and r.get_identity() is None, email + " not optout")
    r = gen(TokenGenerateInput.from_phone("+00000000000").do_not_generate_tokens_for_opted_out())
    expect(r.is_optout(), "+00000000000 not optout")


@check("publisher: refresh-optout identities answer optout on refresh")
def _():
    for inp in (TokenGenerateInput.from_email("refresh-optout@example.com"),
                TokenGenerateInput.from_phone("+00000000002")):
        r = gen(inp.do_not_generate_tokens_for_opted_out())
        expect(r.is_success(), "generate")
        rr = publisher().refresh_token(r.get_identity())
        expect(rr.is_optout() and not rr.is_success() and rr.get_identity() is None, "refresh not optout")


@check("publisher: errors (bad refresh token 400, bad secret 400, wrong role 401, unknown key 401)")
def _():
    r = gen(TokenGenerateInput.from_email("sdk-check-user@example.com"))
    j = json.loads(r.get_identity().get_json_string())
    j["refresh_token"] = "AAAA" + j["refresh_token"][4:][::-1]
    expect_http(400, lambda: publisher().refresh_token(IdentityTokens.from_json_string(json.dumps(j))))
    bad_secret = base64.b64encode(b"\x01" * 32).decode()
    expect_http(400, lambda: Uid2PublisherClient(BASE, cred("all")[0], bad_secret).generate_token(
        TokenGenerateInput.from_email("a@example.com")))
    expect_http(401, lambda: publisher("mapper").generate_token(TokenGenerateInput.from_email("a@example.com")))
    expect_http(401, lambda: Uid2PublisherClient(BASE, "not-a-real-key", cred("all")[1]).generate_token(
        TokenGenerateInput.from_email("a@example.com")))


@check("publisher: generator-only client generates and refreshes")
def _():
    r = gen(TokenGenerateInput.from_email("sdk-check-gen@example.com"), "generator")
    expect(r.is_success(), "generate")
    expect(publisher("generator").refresh_token(r.get_identity()).is_success(), "refresh")
    state["generator_token"] = r.get_identity().get_advertising_token()


if SCOPE == "euid":
    @check("publisher (EUID): TCF without consent is refused")
    def _():
        try:
            publisher().generate_token(TokenGenerateInput.from_email("a@example.com")
                                       .with_transparency_and_consent_string(TCF_NO))
        except ValueError as e:
            expect("insufficient_user_consent" in str(e), "unexpected error: %s" % e)
            return
        raise AssertionError("no ValueError (insufficient_user_consent)")


# ---- identity map v2 ----
@check("identity map v2: emails, phones, hashed, opt-out and buckets")
def _():
    m = IdentityMapClient(BASE, *cred("mapper"))
    emails = ["sdk-check-user@example.com", "SDK.Check.User@gmail.com", "optout@example.com",
              "local-mock-optout@example.com"]
    r = m.generate_identity_map(IdentityMapInput.from_emails(emails))
    expect(r.is_success(), "status")
    for e in emails[:2]:
        mi = r.mapped_identities.get(e)
        expect(mi is not None and len(base64.b64decode(mi.get_raw_uid())) in (32, 33) and mi.get_bucket_id(), e + " mapped")
    for e in emails[2:]:
        u = r.unmapped_identities.get(e)
        expect(u is not None and u.get_reason() == "optout", e + " unmapped optout")
    state["raw_uid_email"] = r.mapped_identities["sdk-check-user@example.com"].get_raw_uid()
    r = m.generate_identity_map(IdentityMapInput.from_phones(["+15555550142", "+00000000000"]))
    expect("+15555550142" in r.mapped_identities, "phone mapped")
    expect(r.unmapped_identities["+00000000000"].get_reason() == "optout", "phone optout")
    state["raw_uid_phone"] = r.mapped_identities["+15555550142"].get_raw_uid()
    h = sha256_b64("sdk-check-user@example.com")
    r = m.generate_identity_map(IdentityMapInput.from_hashed_emails([h]))
    expect(r.mapped_identities[h].get_raw_uid() == state["raw_uid_email"], "hashed email maps to the same raw UID")
    hp = sha256_b64("+15555550142")
    r = m.generate_identity_map(IdentityMapInput.from_hashed_phones([hp]))
    expect(r.mapped_identities[hp].get_raw_uid() == state["raw_uid_phone"], "hashed phone maps to the same raw UID")
    b = m.get_identity_buckets(dt.datetime(2020, 1, 1))
    expect(b.is_success() and len(b.buckets) > 0, "buckets")
    expect(all(x.get_bucket_id() and x.get_last_updated() for x in b.buckets), "bucket fields")
    expect_http(401, lambda: IdentityMapClient(BASE, *cred("generator")).generate_identity_map(
        IdentityMapInput.from_emails(["a@example.com"])))


# ---- identity map v3 ----
@check("identity map v3: mixed input, previous UID, refresh_from, opt-out, invalid")
def _():
    m = IdentityMapV3Client(BASE, *cred("mapper"))
    bad_hash = base64.b64encode(b"short").decode()
    inp = (IdentityMapV3Input.from_emails(["sdk-check-user@example.com", "optout@example.com"])
           .with_phone("+15555550142").with_phone("+00000000000")
           .with_hashed_email(sha256_b64("sdk-check-user@example.com")).with_hashed_email(bad_hash)
           .with_hashed_phone(sha256_b64("+15555550142")))
    r = m.generate_identity_map(inp)
    expect(r.is_success(), "status")
    mi = r.mapped_identities
    u = r.unmapped_identities
    e = mi.get("sdk-check-user@example.com")
    expect(e is not None, "email mapped")
    expect(len(base64.b64decode(e.current_raw_uid)) in (32, 33), "current raw UID is 32 or 33 bytes")
    expect(e.refresh_from > dt.datetime.now(tz=dt.timezone.utc) - dt.timedelta(minutes=1), "refresh_from in the future")
    expect(mi[sha256_b64("sdk-check-user@example.com")].current_raw_uid == e.current_raw_uid, "hashed email same UID")
    expect(mi[sha256_b64("+15555550142")].current_raw_uid == mi["+15555550142"].current_raw_uid, "hashed phone same UID")
    expect(u["optout@example.com"].reason == UnmappedIdentityReason.OPTOUT, "email optout")
    expect(u["+00000000000"].reason == UnmappedIdentityReason.OPTOUT, "phone optout")
    expect(u[bad_hash].reason == UnmappedIdentityReason.INVALID_IDENTIFIER, "bad hash invalid: %r" % u[bad_hash].raw_reason)
    state["v3_email_uid"] = e.current_raw_uid
    expect_http(401, lambda: IdentityMapV3Client(BASE, *cred("generator")).generate_identity_map(
        IdentityMapV3Input.from_emails(["a@example.com"])))


# ---- bidstream ----
@check("bidstream: /v2/key/bidstream keys decrypt publisher tokens to the mapped raw UID")
def _():
    b = BidstreamClient(BASE, *cred("id_reader"))
    rr = b.refresh()
    expect(rr.success, "refresh: %s" % (rr.reason,))
    d = b.decrypt_token_into_raw_uid(state["email_token"], "example.com")
    expect(d.success, "decrypt email token: %s" % d.status)
    expect(d.site_id == CREDS["all"]["site_id"], "site_id %s" % d.site_id)
    expect(d.uid == state["raw_uid_email"], "raw UID differs from identity map v2")
    expect(d.uid == state["v3_email_uid"], "raw UID differs from identity map v3")
    expect(not d.is_client_side_generated and d.established is not None and d.expiry is not None, "fields")
    expect(d.identity_scope == SCOPE_ENUM, "identity scope %s" % d.identity_scope)
    expect(d.advertising_token_version == AdvertisingTokenVersion.ADVERTISING_TOKEN_V4, "token version %s" % d.advertising_token_version)
    keys = rr.keys
    expect(keys.get_identity_scope() == SCOPE_ENUM, "keys identity_scope")
    expect(keys.get_max_bidstream_lifetime_seconds() < 10 ** 9, "max_bidstream_lifetime_seconds missing")
    d = b.decrypt_token_into_raw_uid(state["phone_token"], "example.com")
    expect(d.success and d.uid == state["raw_uid_phone"], "phone token: %s" % d.status)
    d = b.decrypt_token_into_raw_uid(state["generator_token"], "example.com")
    expect(d.success and d.site_id == CREDS["generator"]["site_id"], "generator token: %s" % d.status)
    d = b.decrypt_token_into_raw_uid("not-a-token", "example.com")
    expect(not d.success, "garbage decrypts")
    expect(not BidstreamClient(BASE, *cred("generator")).refresh().success, "generator may not read bidstream keys")


# ---- sharing ----
@check("sharing: /v2/key/sharing encrypt and decrypt across allowed sites")
def _():
    def client(name):
        c = SharingClient(BASE, *cred(name))
        rr = c.refresh()
        expect(rr.success, name + " refresh: %s" % (rr.reason,))
        return c
    all_, sharer, reader, non = client("all"), client("sharer"), client("id_reader"), client("non_sharing")
    k = all_._keys
    expect(k.get_caller_site_id() == CREDS["all"]["site_id"], "caller_site_id")
    expect(k.get_master_keyset_id() is not None and k.get_default_keyset_id() is not None, "master/default keyset ids")
    expect(k.get_token_expiry_seconds() is not None, "token_expiry_seconds")
    expect(k.get_max_sharing_lifetime_seconds() < 10 ** 9, "max_sharing_lifetime_seconds missing")
    expect(k.get_identity_scope() == SCOPE_ENUM, "identity_scope")
    uid = state["raw_uid_email"]
    t = all_.encrypt_raw_uid_into_token(uid)
    expect(t.success, "all encrypt: %s" % t.status)
    for name, c in (("sharer", sharer), ("all", all_)):
        d = c.decrypt_token_into_raw_uid(t.encrypted_data)
        expect(d.success and d.uid == uid and d.site_id == CREDS["all"]["site_id"], name + " decrypt: %s" % d.status)
    d = non.decrypt_token_into_raw_uid(t.encrypted_data)
    expect(d.status == DecryptionStatus.NOT_AUTHORIZED_FOR_KEY, "non_sharing decrypt: %s" % d.status)
    t2 = sharer.encrypt_raw_uid_into_token(uid)
    expect(t2.success, "sharer encrypt")
    d = all_.decrypt_token_into_raw_uid(t2.encrypted_data)
    expect(d.success and d.site_id == CREDS["sharer"]["site_id"], "all decrypts sharer token: %s" % d.status)
    t3 = non.encrypt_raw_uid_into_token(uid)
    expect(t3.success, "non_sharing encrypt: %s" % t3.status)
    d = all_.decrypt_token_into_raw_uid(t3.encrypted_data)
    expect(d.status == DecryptionStatus.NOT_AUTHORIZED_FOR_KEY, "all decrypts non_sharing token: %s" % d.status)
    d = reader.decrypt_token_into_raw_uid(t.encrypted_data)
    expect(d.success and d.uid == uid, "id_reader (allowed by site 1001) decrypt: %s" % d.status)
    expect(not SharingClient(BASE, *cred("generator")).refresh().success, "generator may not read sharing keys")


@check("legacy Uid2Client: refresh_keys, encrypt, decrypt")
def _():
    c = Uid2Client(BASE, *cred("all"))
    if SCOPE == "euid":
        c = Uid2Client.create_euid(BASE, *cred("all"))
    c.refresh_keys()
    tok = c.encrypt(state["raw_uid_email"])
    expect(c.decrypt(tok).uid == state["raw_uid_email"], "round trip")


# ---- extra: endpoints the SDK has no client for, over the SDK's own envelope code ----
if os.environ.get("OP_EXTRA", "1") == "1":
    from uid2_client.request_response_util import auth_headers, create_envelope, make_request, parse_response

    def v2call(name, path, payload, app_version=None):
        key, secret = cred(name)
        secret = base64.b64decode(secret)
        headers = auth_headers(key)
        if app_version:
            headers["X-UID2-AppVersion"] = app_version
        env = create_envelope(secret, dt.datetime.now(tz=dt.timezone.utc), json.dumps(payload).encode())
        return json.loads(parse_response(secret, make_request(BASE, path, headers, env), env.nonce))

    @check("extra: /v2/token/validate (with X-UID2-AppVersion)")
    def _():
        r = v2call("all", "/v2/token/validate", {"token": state["email_token"], "email": "sdk-check-user@example.com"},
                   "uid2-client-python=" + os.environ.get("OP_SDK_VERSION", "unknown"))
        expect(r["status"] == "success" and r["body"] is True, "match: %r" % r)
        r = v2call("all", "/v2/token/validate", {"token": state["email_token"], "email": "someone-else@example.com"})
        expect(r["status"] == "success" and r["body"] is False, "mismatch: %r" % r)

    @check("extra: /v2/optout/status")
    def _():
        r = v2call("mapper", "/v2/optout/status", {"advertising_ids": [state["raw_uid_email"]]})
        expect(r["status"] == "success" and r["body"]["opted_out"] == [], "status: %r" % r)


# ---- extra: a client-side generated token (CSTG) in the bidstream client's domain check ----
if os.environ.get("OP_EXTRA", "1") == "1" and os.environ.get("OP_CSTG") == "1":
    import urllib.request
    from Crypto.Cipher import AES
    from Crypto.PublicKey import ECC

    def cstg_generate(email):
        """POST /v2/token/client-generate as a browser would: ECDH with the server key, AES-GCM payload."""
        c = CREDS["cstg"]
        server = ECC.import_key(base64.b64decode(c["server_public_key"].split("-", 3)[3]))
        mine = ECC.generate(curve="P-256")
        secret = int((server.pointQ * mine.d).x).to_bytes(32, "big")
        iv, ts = os.urandom(12), int(dt.datetime.now(tz=dt.timezone.utc).timestamp() * 1000)
        gcm = AES.new(secret, AES.MODE_GCM, nonce=iv)
        gcm.update(("[%d]" % ts).encode())
        ct, tag = gcm.encrypt_and_digest(json.dumps({"email_hash": sha256_b64(email)}).encode())
        body = {"payload": base64.b64encode(ct + tag).decode(), "iv": base64.b64encode(iv).decode(),
                "public_key": base64.b64encode(mine.public_key().export_key(format="DER")).decode(),
                "timestamp": ts, "subscription_id": c["subscription_id"]}
        req = urllib.request.Request(BASE + "/v2/token/client-generate", data=json.dumps(body).encode(),
                                     headers={"Origin": c["origin"], "Content-Type": "text/plain"}, method="POST")
        sealed = base64.b64decode(urllib.request.urlopen(req, timeout=10).read())
        out = AES.new(secret, AES.MODE_GCM, nonce=sealed[:12]).decrypt_and_verify(sealed[12:-16], sealed[-16:])
        return json.loads(out)

    @check("extra: CSTG token decrypts with the bidstream client to the mapped raw UID")
    def _():
        r = cstg_generate("sdk-check-user@example.com")
        expect(r["status"] == "success", "client-generate: %r" % r.get("status"))
        tok = r["body"]["advertising_token"]
        b = BidstreamClient(BASE, *cred("id_reader"))
        rr = b.refresh()
        expect(rr.success, "refresh")
        host = CREDS["cstg"]["origin"].split("//", 1)[1].split(":")[0]
        d = b.decrypt_token_into_raw_uid(tok, host)
        expect(d.success, "decrypt for %s: %s" % (host, d.status))
        expect(d.uid == state["raw_uid_email"], "CSTG raw UID differs from identity map")
        # Not asserted, SDK limitations (uid2_client 2.9.0): it skips the domain check (a TODO) and
        # reads the CSTG flag from bit 30 of the privacy bits, where operators set bit 1.
        print("NOTE CSTG token: is_client_side_generated=%s as the SDK reads it" % d.is_client_side_generated)


print("SUMMARY scope=%s passed=%d failed=%d" % (SCOPE, len(passed), len(failed)))
sys.exit(1 if failed else 0)
