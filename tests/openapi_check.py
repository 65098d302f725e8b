#!/usr/bin/env python3
"""Checks docs/openapi.json (run by tests/it_openapi.sh).

  openapi_check.py static DOC HTTP_C
      DOC parses as JSON, is OpenAPI 3.1, every $ref resolves, every path
      parameter is declared, every operation answers errors with the Error
      schema; the routes[] table of daemon/http.c and the document's paths
      agree both ways: path, method (GET or POST) and whether an anonymous
      TCP caller may use it (x-sockbroker-anonymous).
  openapi_check.py live DOC HTTP_SOCKET
      Asks a running daemon's unix: HTTP listener each request below and
      checks that its status is one the document lists for the operation and
      that its body validates against the document's schema for it
      (jsonschema, JSON Schema 2020-12).

Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure.
"""
import http.client
import json
import re
import socket
import sys

failures = 0


def ok(cond, what, detail=""):
    global failures
    if cond:
        print("ok - " + what)
    else:
        failures += 1
        print("not ok - " + what)
        for line in str(detail).splitlines():
            print("    | " + line)
    return cond


def pointer(doc, ref):
    """The object a local $ref names, or raise KeyError."""
    if not ref.startswith("#/"):
        raise KeyError("not a local reference: " + ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


def refs(node, where="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from refs(v, where + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, "%s/%d" % (where, i))


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(doc, node["$ref"])
    return node


def c_routes(path):
    src = open(path, encoding="utf-8").read()
    m = re.search(r"static const struct route routes\[\] = \{(.*?)\n\};", src, re.S)
    if not m:
        return None
    out = []
    for r in re.finditer(r'\{\s*"([^"]+)",\s*(true|false),\s*(true|false),\s*(true|false),\s*(R_\w+)', m.group(1)):
        p, has_id, post, anon = r.group(1), r.group(2) == "true", r.group(3) == "true", r.group(4) == "true"
        out.append((p, has_id, "post" if post else "get", anon))
    return out


def static(doc_path, http_c):
    try:
        doc = json.load(open(doc_path, encoding="utf-8"))
    except ValueError as e:
        ok(False, "docs/openapi.json parses as JSON", e)
        return
    ok(True, "docs/openapi.json parses as JSON")
    ok(str(doc.get("openapi", "")).startswith("3.1."), "it is OpenAPI 3.1 (%s)" % doc.get("openapi"))
    bad = []
    n = 0
    for where, ref in refs(doc):
        n += 1
        try:
            pointer(doc, ref)
        except (KeyError, IndexError, ValueError):
            bad.append("%s: %s" % (where, ref))
    ok(n > 0 and not bad, "all %d $refs resolve" % n, "\n".join(bad))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    ok(schemes.get("bearer", {}).get("scheme") == "bearer", "the bearer security scheme is defined")

    ops = {}
    bad = []
    for p, item in doc.get("paths", {}).items():
        for method, o in item.items():
            if method not in ("get", "post", "put", "delete", "patch", "head", "options"):
                continue
            ops[(p, method)] = o
            declared = {deref(doc, q)["name"] for q in o.get("parameters", []) if deref(doc, q).get("in") == "path"}
            wanted = set(re.findall(r"\{(\w+)\}", p))
            if declared != wanted:
                bad.append("%s %s: path parameters %s, declared %s" % (method, p, sorted(wanted), sorted(declared)))
            if "x-sockbroker-anonymous" not in o:
                bad.append("%s %s: no x-sockbroker-anonymous" % (method, p))
            for code, r in o.get("responses", {}).items():
                r = deref(doc, r)
                if code.startswith(("4", "5")):
                    s = r.get("content", {}).get("application/json", {}).get("schema")
                    if s != {"$ref": "#/components/schemas/Error"}:
                        bad.append("%s %s: %s does not answer the Error body" % (method, p, code))
            if "401" not in o.get("responses", {}):
                bad.append("%s %s: no 401 (a tcp: caller without a good token)" % (method, p))
    ok(ops and not bad, "%d operations: path parameters declared, errors are the Error body" % len(ops), "\n".join(bad))

    routes = c_routes(http_c)
    if not ok(routes, "read the routes[] table of daemon/http.c (%d routes)" % len(routes or [])):
        return
    seen = set()
    for p, has_id, method, anon in routes:
        match = [k for k in ops if k[1] == method and
                 (k[0] == p if not has_id else re.fullmatch(re.escape(p) + r"/\{\w+\}", k[0]))]
        shown = p + ("/{id}" if has_id else "")
        if ok(len(match) == 1, "routes[] %s %s is in the document" % (method.upper(), shown)):
            seen.add(match[0])
            got = ops[match[0]].get("x-sockbroker-anonymous")
            ok(got == anon, "%s %s: anonymous TCP callers %s, as routes[] says" %
               (method.upper(), shown, "may use it" if anon else "may not use it"),
               "the document says x-sockbroker-anonymous: %s" % got)
            sec = ops[match[0]].get("security")
            ok((sec == [{}, {"bearer": []}]) if anon else (sec == [{"bearer": []}]),
               "%s %s: its security is %s" % (method.upper(), shown, "optional bearer" if anon else "bearer"),
               json.dumps(sec))
    route_paths = {p for p, _, _, _ in routes}
    for (p, method) in sorted(set(ops) - seen):
        ok(p in route_paths, "the document's %s %s is in routes[]" % (method.upper(), p))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.unix_path)


def live(doc_path, sock_path):
    import jsonschema
    doc = json.load(open(doc_path, encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})

    def operation(path):
        """The document's operation for a concrete path, and its template."""
        for tmpl in doc["paths"]:
            if re.fullmatch(re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(tmpl)), path):
                return tmpl
        return None

    # (method, path with query, body, what)
    requests = [
        ("GET", "/healthz", None, "liveness"),
        ("GET", "/v1/info", None, "daemon.info"),
        ("GET", "/v1/whoami", None, "daemon.whoami"),
        ("GET", "/v1/clients", None, "admin.clients"),
        ("GET", "/v1/clients/999999", None, "no such client"),
        ("GET", "/v1/sockets", None, "admin.sockets"),
        ("GET", "/v1/sockets?state=listening&family=inet", None, "filtered"),
        ("GET", "/v1/sockets?state=bogus", None, "a bad filter"),
        ("GET", "/v1/sockets/999999", None, "no such handle"),
        ("GET", "/v1/policy", None, "policy.rules"),
        ("POST", "/v1/policy/check", {"as": {"uid": 65534}, "request": {"method": "daemon.info"}}, "policy.check"),
        ("POST", "/v1/policy/check", "[1]", "a body that is no object"),
        ("GET", "/v1/audit?limit=5", None, "admin.audit"),
        ("GET", "/v1/audit?since=x", None, "a bad since"),
        ("POST", "/rpc", {"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"}, "one request"),
        ("POST", "/rpc", [{"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"},
                          {"jsonrpc": "2.0", "id": 2, "method": "no.such"}], "a batch"),
        ("POST", "/rpc", {"jsonrpc": "2.0", "method": "daemon.ping"}, "a notification"),
        ("POST", "/rpc", {"jsonrpc": "2.0", "id": 3, "method": "socket.create", "params": {"pass": True}},
         "a method that passes descriptors"),
        ("DELETE", "/v1/info", None, "a method the path does not take"),
        ("GET", "/metrics", None, "metrics"),
        ("GET", "/v1/openapi.json", None, "this document"),
    ]
    for method, target, body, what in requests:
        path = target.split("?")[0]
        tmpl = operation(path)
        if not ok(tmpl, "%s is a path of the document" % path):
            continue
        c = UnixHTTPConnection(sock_path)
        headers = {}
        data = None
        if body is not None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            headers["Content-Type"] = "application/json"
        c.request(method, target, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read()
        c.close()
        status = str(r.status)
        try:
            text = json.loads(raw) if raw else None
        except ValueError:
            text = raw
        item = doc["paths"][tmpl]
        o = item.get(method.lower())
        if o is None:
            ok(status == "405" and r.getheader("Allow"), "%s %s (%s): 405 with Allow" % (method, target, what),
               "%s %s" % (status, raw[:300]))
            resp = deref(doc, next(iter(item.values()))["responses"]["405"])
        else:
            resp = o["responses"].get(status)
            if not ok(resp is not None, "%s %s (%s): status %s is documented" % (method, target, what, status),
                      raw[:300]):
                continue
            resp = deref(doc, resp)
        content = resp.get("content")
        if not content:
            ok(not raw, "%s %s (%s): %s with no body, as documented" % (method, target, what, status), raw[:300])
            continue
        ctype = (r.getheader("Content-Type") or "").split(";")[0].strip()
        media = {k.split(";")[0].strip(): v for k, v in content.items()}
        if not ok(ctype in media, "%s %s (%s): Content-Type %s is documented" % (method, target, what, ctype)):
            continue
        if ctype != "application/json":
            continue
        schema = dict(doc)
        schema["$ref"] = "#/" + "/".join(
            p.replace("~", "~0").replace("/", "~1") for p in pointer_path(doc, media[ctype]["schema"]))
        try:
            jsonschema.Draft202012Validator(schema).validate(text)
            ok(True, "%s %s (%s): the %s body validates against the document" % (method, target, what, status))
        except jsonschema.ValidationError as e:
            ok(False, "%s %s (%s): the %s body validates against the document" % (method, target, what, status),
               "%s\n%s" % (e.message, raw[:300]))


def pointer_path(doc, node):
    """Where node (an object inside doc) is, as a list of keys."""
    stack = [([], doc)]
    while stack:
        path, n = stack.pop()
        if n is node:
            return path
        if isinstance(n, dict):
            stack.extend((path + [k], v) for k, v in n.items())
        elif isinstance(n, list):
            stack.extend((path + [str(i)], v) for i, v in enumerate(n))
    raise KeyError("not in the document")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("static", "live"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    (static if sys.argv[1] == "static" else live)(sys.argv[2], sys.argv[3])
    sys.exit(1 if failures else 0)
