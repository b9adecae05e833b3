#!/usr/bin/env python3
# sigv4_check.py: a small path-style S3 endpoint that verifies the AWS
# Signature Version 4 of every request on its own, so a test can prove
# that what sta sends is signed correctly (s3rver does not check).
#
#   sigv4_check.py --self-test
#       checks the verifier against the four examples AWS publishes in
#       "Signature Calculations for the Authorization Header" (S3 API
#       reference: GET and PUT Object, GET Bucket lifecycle and list);
#       exit 0 or 1.
#   sigv4_check.py PORT_FILE STATS_FILE [--bucket B] [--region R]
#                  [--key ID:SECRET[:TOKEN]]... [--fail N] [--sts-token JWT]
#       listens on a free loopback port (written to PORT_FILE) and keeps
#       counts in STATS_FILE (JSON).
#
# The signature is recomputed from what arrives on the wire, following the
# published algorithm with Python's hmac/hashlib: the path is decoded and
# each segment URI-encoded again (S3 does not encode twice), the query
# parameters decoded, encoded, sorted; the signed headers (which must
# include host, x-amz-date, x-amz-content-sha256 and every other x-amz-*
# header sent) trimmed; x-amz-content-sha256 must be the sha256 of the body
# received.  A request that does not verify gets 403 SignatureDoesNotMatch
# (or the error S3 would give) and is counted as rejected.
#
# S3 subset: PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2
# (max-keys, continuation tokens with '+', '/' and '='), multipart upload
# (create, part, complete, abort; upload ids with '+', '/', '=').
# --fail N answers the first N S3 requests that verify with 500.
# --sts-token JWT also serves STS AssumeRoleWithWebIdentity at POST /: a
# request with that token gets fresh temporary credentials (with a session
# token), which S3 requests may then use.
import base64
import calendar
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMPTY = hashlib.sha256(b"").hexdigest()


def uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def canonical_uri(raw_path):
    path = urllib.parse.unquote(raw_path)
    return "/".join(uri_encode(seg, False) for seg in path.split("/"))


def canonical_query(raw_query):
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        k, _, v = part.partition("=")
        pairs.append((uri_encode(urllib.parse.unquote(k), False),
                      uri_encode(urllib.parse.unquote(v), False)))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = hmac256(("AWS4" + secret).encode(), date)
    k = hmac256(k, region)
    k = hmac256(k, service)
    return hmac256(k, "aws4_request")


def canonical_request(method, raw_path, raw_query, headers, signed, payload_hash):
    """headers: lower-case name -> list of values as received."""
    lines = []
    for name in signed:
        vals = [" ".join(v.strip().split()) for v in headers[name]]
        lines.append(f"{name}:{','.join(vals)}\n")
    return "\n".join([method, canonical_uri(raw_path), canonical_query(raw_query),
                      "".join(lines), ";".join(signed), payload_hash])


def signature(creq, amz_date, scope, secret, region, service):
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    return hmac.new(signing_key(secret, amz_date[:8], region, service), sts.encode(),
                    hashlib.sha256).hexdigest()


def self_test():
    # The four examples AWS publishes in "Signature Calculations for the
    # Authorization Header: Transferring Payload in a Single Chunk" (S3 API
    # reference): bucket examplebucket, 2013-05-24, us-east-1, the
    # documentation's example keys.
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    date, scope = "20130524T000000Z", "20130524/us-east-1/s3/aws4_request"
    host = ["examplebucket.s3.amazonaws.com"]
    put_hash = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    examples = [
        ("GET Object", "GET", "/test.txt", "",
         {"host": host, "range": ["bytes=0-9"], "x-amz-content-sha256": [EMPTY], "x-amz-date": [date]},
         EMPTY, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"),
        ("PUT Object", "PUT", "/test%24file.text", "",
         {"date": ["Fri, 24 May 2013 00:00:00 GMT"], "host": host, "x-amz-content-sha256": [put_hash],
          "x-amz-date": [date], "x-amz-storage-class": ["REDUCED_REDUNDANCY"]},
         put_hash, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", None),
        ("GET Bucket Lifecycle", "GET", "/", "lifecycle",
         {"host": host, "x-amz-content-sha256": [EMPTY], "x-amz-date": [date]},
         EMPTY, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", None),
        ("GET Bucket (List Objects)", "GET", "/", "max-keys=2&prefix=J",
         {"host": host, "x-amz-content-sha256": [EMPTY], "x-amz-date": [date]},
         EMPTY, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", None),
    ]
    bad = 0
    for name, method, path, query, headers, payload, want_sig, want_hash in examples:
        creq = canonical_request(method, path, query, headers, sorted(headers), payload)
        got = signature(creq, date, scope, secret, "us-east-1", "s3")
        got_hash = hashlib.sha256(creq.encode()).hexdigest()
        good = got == want_sig and (want_hash is None or got_hash == want_hash)
        bad += not good
        print(f"{'ok' if good else 'MISMATCH'} {name}: {got}")
    assert put_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    return 1 if bad else 0


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.bucket = args["bucket"]
        self.region = args["region"]
        self.keys = dict(args["keys"])          # id -> (secret, token or None)
        self.fail_left = args["fail"]
        self.sts_token = args["sts_token"]
        self.objects = {}
        self.uploads = {}                       # id -> {"key", "parts": {n: (etag, data)}}
        self.stats_file = args["stats"]
        self.stats = {"verified": 0, "rejected": 0, "injected": 0, "sts": 0,
                      "with_token": 0, "ops": {}, "rejections": []}

    def count(self, name, n=1):
        self.stats[name] += n

    def op(self, name):
        self.stats["ops"][name] = self.stats["ops"].get(name, 0) + 1

    def save(self):
        tmp = self.stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats, f)
        os.replace(tmp, self.stats_file)


def xml_error(code, message, extra=""):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message>{extra}</Error>").encode()


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    st = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body and "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(min(1 << 20, n - len(data)))
            if not chunk:
                break
            data += chunk
        return data

    def headers_lower(self):
        h = {}
        for k, v in self.headers.items():
            h.setdefault(k.lower(), []).append(v)
        return h

    # ---- verification ----

    def verify(self, body):
        """None when the request verifies, else (status, code, message)."""
        st = self.st
        h = self.headers_lower()
        auth = (h.get("authorization") or [""])[0]
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return 403, "AccessDenied", "no SigV4 Authorization header"
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        try:
            key_id, date, region, service, term = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            given = fields["Signature"]
        except (KeyError, ValueError):
            return 400, "AuthorizationHeaderMalformed", "malformed Authorization header"
        with st.lock:
            creds = st.keys.get(key_id)
        if creds is None:
            return 403, "InvalidAccessKeyId", f"unknown access key {key_id}"
        secret, token = creds
        if region != st.region or service != "s3" or term != "aws4_request":
            return 400, "AuthorizationHeaderMalformed", f"bad scope {fields['Credential']}"
        amz_date = (h.get("x-amz-date") or [""])[0]
        try:
            t = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return 403, "AccessDenied", "no valid x-amz-date"
        if amz_date[:8] != date or abs(t - time.time()) > 900:
            return 403, "RequestTimeTooSkewed", "x-amz-date too far from now or from the scope"
        if signed != sorted(signed) or any(s != s.lower() for s in signed):
            return 403, "SignatureDoesNotMatch", "SignedHeaders not sorted lower-case names"
        must = {"host", "x-amz-date", "x-amz-content-sha256"}
        must |= {n for n in h if n.startswith("x-amz-")}
        missing = sorted(must - set(signed))
        if missing:
            return 403, "AccessDenied", f"headers not signed: {','.join(missing)}"
        absent = [n for n in signed if n not in h]
        if absent:
            return 403, "SignatureDoesNotMatch", f"signed headers not sent: {','.join(absent)}"
        sent_token = (h.get("x-amz-security-token") or [None])[0]
        if token != sent_token:
            return 403, "InvalidToken", "session token missing or wrong"
        payload = h["x-amz-content-sha256"][0]
        if payload != hashlib.sha256(body).hexdigest():
            return 400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 is not the body's sha256"
        raw_path, _, raw_query = self.path.partition("?")
        creq = canonical_request(self.command, raw_path, raw_query, h, signed, payload)
        want = signature(creq, amz_date, f"{date}/{region}/s3/aws4_request", secret, region, "s3")
        if not hmac.compare_digest(want, given):
            with st.lock:
                st.stats["rejections"].append(creq)
            return 403, "SignatureDoesNotMatch", "signature differs; canonical request: " + esc(creq)
        with st.lock:
            if token is not None:
                st.count("with_token")
        return None

    # ---- dispatch ----

    def handle_any(self):
        st = self.st
        body = self.body()
        raw_path, _, raw_query = self.path.partition("?")
        if st.sts_token is not None and raw_path == "/" and self.command == "POST":
            return self.sts(body)
        bad = self.verify(body)
        with st.lock:
            if bad is not None:
                st.count("rejected")
                st.save()
            else:
                st.count("verified")
                inject = st.fail_left > 0
                if inject:
                    st.fail_left -= 1
                    st.count("injected")
                st.save()
        if bad is not None:
            return self.reply(bad[0], xml_error(bad[1], bad[2]), head=self.command == "HEAD")
        if inject:
            return self.reply(500, xml_error("InternalError", "injected failure"),
                              head=self.command == "HEAD")
        q = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
        path = urllib.parse.unquote(raw_path)
        bucket, _, key = path.lstrip("/").partition("/")
        if bucket != st.bucket:
            return self.reply(404, xml_error("NoSuchBucket", "The specified bucket does not exist"),
                              head=self.command == "HEAD")
        with st.lock:
            done = self.s3(self.command, key, q, body)
            st.save()
            return done

    def s3(self, method, key, q, body):
        st = self.st
        if not key and method == "GET":
            st.op("ListObjectsV2")
            return self.list(q)
        if method == "POST" and "uploads" in q:
            st.op("CreateMultipartUpload")
            uid = base64.b64encode(secrets.token_bytes(12)).decode() + "+/="
            st.uploads[uid] = {"key": key, "parts": {}}
            return self.reply(200, (f"<InitiateMultipartUploadResult><Bucket>{st.bucket}</Bucket>"
                                    f"<Key>{esc(key)}</Key><UploadId>{esc(uid)}</UploadId>"
                                    "</InitiateMultipartUploadResult>").encode())
        if "uploadId" in q:
            up = st.uploads.get(q["uploadId"])
            if up is None or up["key"] != key:
                return self.reply(404, xml_error("NoSuchUpload", "no such upload"))
            if method == "PUT":
                st.op("UploadPart")
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                up["parts"][int(q["partNumber"])] = (etag, body)
                return self.reply(200, headers={"ETag": etag})
            if method == "DELETE":
                st.op("AbortMultipartUpload")
                del st.uploads[q["uploadId"]]
                return self.reply(204)
            if method == "POST":
                st.op("CompleteMultipartUpload")
                return self.complete(q["uploadId"], up, body.decode())
        if method == "PUT":
            st.op("PutObject")
            st.objects[key] = body
            return self.reply(200, headers={"ETag": '"' + hashlib.md5(body).hexdigest() + '"'})
        if method in ("GET", "HEAD"):
            st.op("GetObject" if method == "GET" else "HeadObject")
            if key not in st.objects:
                return self.reply(404, xml_error("NoSuchKey", "The specified key does not exist."),
                                  head=method == "HEAD")
            data = st.objects[key]
            if method == "HEAD":
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return None
            return self.reply(200, data, {"Content-Type": "application/octet-stream"})
        if method == "DELETE":
            st.op("DeleteObject")
            st.objects.pop(key, None)
            return self.reply(204)
        return self.reply(405, xml_error("MethodNotAllowed", method))

    def complete(self, uid, up, doc):
        st = self.st
        parts = []
        for chunk in doc.split("<Part>")[1:]:
            n = int(chunk.split("<PartNumber>")[1].split("</PartNumber>")[0])
            etag = chunk.split("<ETag>")[1].split("</ETag>")[0].replace("&quot;", '"')
            parts.append((n, etag))
        if not parts or [n for n, _ in parts] != list(range(1, len(parts) + 1)):
            return self.reply(400, xml_error("InvalidPartOrder", "parts not 1..N in order"))
        for n, etag in parts:
            if n not in up["parts"] or up["parts"][n][0] != etag:
                return self.reply(400, xml_error("InvalidPart", f"part {n} etag {etag}"))
        if len(parts) != len(up["parts"]):
            return self.reply(400, xml_error("InvalidPart", "parts uploaded but not listed"))
        st.objects[up["key"]] = b"".join(up["parts"][n][1] for n, _ in parts)
        st.stats["last_multipart_parts"] = len(parts)
        del st.uploads[uid]
        return self.reply(200, (f"<CompleteMultipartUploadResult><Key>{esc(up['key'])}</Key>"
                                "</CompleteMultipartUploadResult>").encode())

    def list(self, q):
        st = self.st
        prefix = q.get("prefix", "")
        page = int(q.get("max-keys", "1000"))
        keys = sorted(k for k in st.objects if k.startswith(prefix))
        if "continuation-token" in q:
            after = base64.b64decode(q["continuation-token"]).decode()
            keys = [k for k in keys if k > after]
        more = len(keys) > page
        keys = keys[:page]
        out = ["<ListBucketResult>", f"<Name>{st.bucket}</Name>", f"<Prefix>{esc(prefix)}</Prefix>",
               f"<KeyCount>{len(keys)}</KeyCount>", f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
        for k in keys:
            out.append(f"<Contents><Key>{esc(k)}</Key><Size>{len(st.objects[k])}</Size></Contents>")
        if more:
            out.append("<NextContinuationToken>" + base64.b64encode(keys[-1].encode()).decode() +
                       "</NextContinuationToken>")
        out.append("</ListBucketResult>")
        return self.reply(200, "".join(out).encode())

    def sts(self, body):
        st = self.st
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        ok = (form.get("Action") == "AssumeRoleWithWebIdentity" and form.get("Version") == "2011-06-15"
              and form.get("RoleArn") and form.get("RoleSessionName")
              and form.get("WebIdentityToken") == st.sts_token)
        if not ok:
            return self.reply(403, (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                                    f"<Message>bad AssumeRoleWithWebIdentity request</Message></Error>"
                                    "</ErrorResponse>").encode())
        key_id = "ASIA" + secrets.token_hex(8).upper()
        secret = base64.b64encode(secrets.token_bytes(30)).decode()
        token = base64.b64encode(secrets.token_bytes(300)).decode()
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        with st.lock:
            st.keys[key_id] = (secret, token)
            st.count("sts")
            st.save()
        return self.reply(200, ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                                f"<Credentials><AccessKeyId>{key_id}</AccessKeyId>"
                                f"<SecretAccessKey>{secret}</SecretAccessKey>"
                                f"<SessionToken>{token}</SessionToken><Expiration>{exp}</Expiration>"
                                "</Credentials></AssumeRoleWithWebIdentityResult>"
                                "</AssumeRoleWithWebIdentityResponse>").encode())

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    args = {"bucket": "bucket", "region": "us-east-1", "keys": [], "fail": 0, "sts_token": None}
    port_file, args["stats"] = argv[1], argv[2]
    rest = argv[3:]
    while rest:
        opt, val, rest = rest[0], rest[1], rest[2:]
        if opt == "--bucket":
            args["bucket"] = val
        elif opt == "--region":
            args["region"] = val
        elif opt == "--key":
            parts = val.split(":", 2)
            args["keys"].append((parts[0], (parts[1], parts[2] if len(parts) > 2 else None)))
        elif opt == "--fail":
            args["fail"] = int(val)
        elif opt == "--sts-token":
            args["sts_token"] = val
        else:
            print(f"unknown option {opt}", file=sys.stderr)
            return 64
    Handler.st = State(args)
    Handler.st.save()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
