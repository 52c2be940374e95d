#!/usr/bin/python3
"""The independent side of internal/mailauth's corpus test (corpus_test.go).

Reads a JSON list of requests on stdin, writes a JSON list of answers:

  {"op": "sign", "message": str, "domain", "selector", "key": str,
   "alg": "rsa-sha256"|"ed25519-sha256", "hcanon", "bcanon", "identity"}
      -> {"message": the message with the DKIM-Signature on top}
      Signs with Debian's python3-dkim, the library behind dkimsign.

  {"op": "verify", "message", "ip", "helo", "mailfrom", "ours": str}
      -> {"spf": result, "dkim": [result per signature], "dmarc": result,
          "ours": {method: [results]} parsed from goqmail's field}
      SPF with pyspf (python3-spf), DKIM with python3-dkim, DMARC with
      python3-authheaders (its policy lookup, organizational domain from
      Debian's public suffix list, and alignment); goqmail's
      Authentication-Results field parsed with python3-authres.

DNS goes to the test's server: argv[1] is host:port, argv[2] the timeout.

What these libraries do not classify, this script does, by the same rules
(and by RFC 6376 6.1.1, which python3-dkim leaves out: a signature whose
h= lacks From is permerror; and by the public suffix list's default rule,
which publicsuffix2 leaves out: see get_org_domain)
docs/antispam.md states for goqmail: a DKIM key that is missing, revoked,
malformed or doubled is permerror (RFC 6376 6.1.2), a signature that does
not verify is fail, a key lookup that fails is temperror; a DMARC record
that does not parse is permerror, a DMARC lookup that fails is temperror,
and so is a failing message when an aligned DKIM or SPF check failed
temporarily.
"""
import json
import sys
import email.utils

import dns.exception
import dns.resolver
import dkim
import spf
import authres
from authres import SPFAuthenticationResult, DKIMAuthenticationResult
import authheaders
import authheaders.dmarc_lookup
from authheaders import dmarc_per_from

_psl_org = authheaders.dmarc_lookup.get_org_domain


def get_org_domain(domain):
    """publicsuffix2 answers a bare unknown TLD ("test" for "a.b.test") where
    the public suffix list's algorithm says "If no rules match, the
    prevailing rule is *": the TLD is the suffix and the organizational
    domain has one label more. Every listed suffix is left to the list."""
    org = _psl_org(domain)
    labels = domain.lower().rstrip(".").split(".")
    if "." not in org and len(labels) >= 2:
        return ".".join(labels[-2:])
    return org


authheaders.dmarc_lookup.get_org_domain = get_org_domain
authheaders.get_org_domain = get_org_domain

host, port = sys.argv[1].rsplit(":", 1)
TIMEOUT = float(sys.argv[2])
res = dns.resolver.Resolver(configure=False)
res.nameservers = [host]
res.port = int(port)
res.timeout = TIMEOUT
res.lifetime = TIMEOUT
dns.resolver.default_resolver = res


class TempFail(Exception):
    pass


def txt(name):
    """TXT strings joined per record; None when there is none; TempFail."""
    try:
        ans = res.resolve(name, "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
        raise TempFail(str(e))
    if ans.rrset is None:
        return None
    return [b"".join(r.strings) for r in ans.rrset]


def sign(req):
    msg = req["message"].encode()
    alg = req.get("alg", "rsa-sha256").encode()
    d = dkim.DKIM(msg, signature_algorithm=alg, linesep=b"\n")
    ident = req.get("identity")
    sig = d.sign(req["selector"].encode(), req["domain"].encode(), req["key"].encode(),
                 identity=ident.encode() if ident else None,
                 canonicalize=(req.get("hcanon", "relaxed").encode(), req.get("bcanon", "simple").encode()),
                 include_headers=[b"from", b"to", b"subject", b"date"])
    return {"message": sig.decode() + req["message"]}


def verify_dkim(msg):
    d = dkim.DKIM(msg, timeout=TIMEOUT)
    n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    out = []
    for idx in range(min(n, 5)):
        state = {}

        def dnsfunc(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            recs = txt(name)
            if not recs:
                state["perm"] = "no key"
                return None
            if len(recs) > 1:
                state["perm"] = "several keys"
                return None
            try:
                dkim.evaluate_pk(name, recs[0])
            except Exception as e:
                state["perm"] = "bad key: %s" % e
            return recs[0]

        d = dkim.DKIM(msg, timeout=TIMEOUT)
        sig = d.headers
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            sigf = d.signature_fields or {}
            signed = [h.strip().lower() for h in sigf.get(b"h", b"").split(b":")]
            if b"from" not in signed:
                # RFC 6376 6.1.1: "MUST ... return PERMFAIL (From field
                # not signed)"; python3-dkim only fails the signature.
                state["perm"] = "From not signed"
            r = "permerror" if "perm" in state else ("pass" if ok else "fail")
        except TempFail:
            r, sigf = "temperror", d.signature_fields or {}
        except dkim.ValidationError as e:
            r = "fail" if "body hash mismatch" in str(e) else "permerror"
            sigf = d.signature_fields or {}
        except Exception:
            r, sigf = "permerror", d.signature_fields or {}
        out.append((r, sigf.get(b"d", b"").decode().lower()))
    return out


def dmarc_record(domain):
    """The single v=DMARC1 record's tags, None, 'invalid', or TempFail."""
    recs = txt("_dmarc." + domain)
    recs = [r.decode() for r in (recs or []) if r.decode().startswith("v=DMARC1")]
    if len(recs) != 1:
        return None
    tags = {}
    for part in recs[0].split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            tags[k.strip()] = v.strip()
    if tags.get("p") not in ("none", "quarantine", "reject"):
        return "invalid"
    if tags.get("sp", "none") not in ("none", "quarantine", "reject"):
        return "invalid"
    for k in ("adkim", "aspf"):
        if tags.get(k, "r") not in ("r", "s"):
            return "invalid"
    return tags


def dmarc_one(frm, spf_res, spf_ident, dkims):
    org = get_org_domain(frm)
    try:
        rec = dmarc_record(frm)
        if rec is None and org != frm:
            rec = dmarc_record(org)
    except TempFail:
        return "temperror"
    if rec is None:
        return "none"
    if rec == "invalid":
        return "permerror"
    passing = next((dd for r, dd in dkims if r == "pass" and get_org_domain(dd) == org), None)
    strict_pass = next((dd for r, dd in dkims if r == "pass" and dd == frm), None)
    dk = DKIMAuthenticationResult(result="pass", header_d=(strict_pass if rec.get("adkim") == "s" else passing) or "") \
        if (strict_pass or passing) else None
    sp = SPFAuthenticationResult(result=spf_res, smtp_mailfrom=spf_ident)
    result, _, _, _ = dmarc_per_from(frm, sp, dk)
    if result == "fail":
        def aligned(d, mode):
            return d == frm if mode == "s" else get_org_domain(d) == org
        spf_dom = spf_ident.rsplit("@", 1)[-1].lower()
        if any(r == "temperror" and aligned(dd, rec.get("adkim", "r")) for r, dd in dkims) or \
                (spf_res == "temperror" and aligned(spf_dom, rec.get("aspf", "r"))):
            return "temperror"
    return result


RANK = {"fail": 3, "temperror": 2, "permerror": 1, "pass": 0, "none": -1}


def verify(req):
    msg = req["message"].encode()
    ident = req["mailfrom"] or "postmaster@" + req["helo"]
    spf_res, _ = spf.check2(i=req["ip"], s=ident, h=req["helo"], timeout=TIMEOUT, querytime=0)
    dkims = verify_dkim(msg)
    headers, _ = dkim.rfc822_parse(msg)
    froms = [h[1].decode(errors="ignore").strip() for h in headers if h[0].lower() == b"from"]
    domains = []
    for _, addr in email.utils.getaddresses(froms):
        if "@" in addr:
            d = addr.rsplit("@", 1)[1].lower()
            if d not in domains:
                domains.append(d)
    dm = "none"
    for d in domains:
        r = dmarc_one(d, spf_res, ident, dkims)
        if RANK[r] > RANK[dm]:
            dm = r
    ours = {}
    if req.get("ours"):
        value = req["ours"].replace("\n\t", " ")
        parsed = authres.AuthenticationResultsHeader.parse(value)
        for r in parsed.results:
            ours.setdefault(r.method, []).append(r.result)
        ours["authserv_id"] = [parsed.authserv_id]
    return {"spf": spf_res, "dkim": [r for r, _ in dkims] or ["none"], "dmarc": dm, "ours": ours}


out = []
for req in json.load(sys.stdin):
    out.append(sign(req) if req["op"] == "sign" else verify(req))
json.dump(out, sys.stdout)
