"""The secret guard: what would put a credential into git, found before anything is written.

One manifest (plain data) in, findings out; each names the field path and carries the value
only masked. It finds:

- ``secret-data``: a Secret's ``data`` / ``stringData`` values. An empty Secret passes, and
  so does a SOPS-encrypted one (``sops:`` metadata, values ``ENC[...]``). The way is a
  reference: ``secretRef`` to a Secret made outside git, a SealedSecret, an ExternalSecret.
- ``credential-env``: a literal env value whose name says credential (``DB_PASSWORD``,
  ``API_TOKEN``), unless it is empty or a reference (``$(VAR)``, ``${VAR}``).
- what detect-secrets' detectors recognise, in any string of any object: private keys, AWS,
  GitHub, GitLab, Slack, Stripe, npm, PyPI, OpenAI... tokens, JWTs, passwords in URLs; and under
  a key whose name says credential, its keyword and high-entropy detectors. Detection is the library's; this module only decides where to look.

An allow-list (``secrets.allow`` in gitops.yaml: space, unit and path globs, each with a
reason) lets a true false positive through. SealedSecret and ExternalSecret objects hold
ciphertext and references by design and are not looked into (the token detectors included).

Pure: no I/O, no git, no YAML text. detect-secrets is imported on the first scan (it costs
~0.1 s, which a read-only command never pays), and is never asked to verify anything online.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any

from generator.errors import GitopsError

SECRET_WAYS = "secretRef to a Secret made outside git, a SealedSecret, an ExternalSecret or a SOPS-encrypted file"
# Objects whose whole point is to carry encrypted values or references to a secret store.
_SEALED = {("bitnami.com", "SealedSecret"), ("external-secrets.io", "ExternalSecret"),
           ("external-secrets.io", "ClusterExternalSecret"), ("external-secrets.io", "PushSecret")}
# A name says credential when its last word does: DB_PASSWORD, apiToken, AWS_SECRET_ACCESS_KEY.
# TOKEN_TTL, secretName, PASSWORD_FILE name something about a credential, not one.
_CREDENTIAL_WORDS = {"PASSWORD", "PASSWD", "PWD", "PASS", "PASSPHRASE", "SECRET", "TOKEN",
                     "CREDENTIAL", "CREDENTIALS", "APIKEY", "PRIVATEKEY", "SECRETKEY"}
_KEY_WORDS = {"API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "ENCRYPTION", "AUTH", "CLIENT",
              "MASTER", "ACCOUNT", "SERVICE", "DB", "DATABASE", "HMAC", "SSH"}
_FORM_WORDS = {"BASE", "B64", "BASE64", "VALUE", "DATA", "STRING", "HASH", "PLAIN", "RAW"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_REFERENCE_VALUE = re.compile(r"\A(\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\{[^}]+\}|\{\{.*\}\})\Z", re.DOTALL)
_REFERENCE_PARENTS = {"secretKeyRef", "secretRef", "configMapKeyRef", "configMapRef", "valueFrom",
                      "fieldRef", "resourceFieldRef", "secret", "projected", "csi", "imagePullSecrets"}


class SecretError(GitopsError):
    """A credential would be written into the manifests repo."""


@dataclass(frozen=True)
class Allowed:
    """One allow-list entry: a finding at these globs passes, for this reason."""

    space: str
    unit: str
    path: str
    reason: str

    def covers(self, space: str, unit: str, path: str) -> bool:
        return (fnmatch.fnmatchcase(space, self.space) and fnmatch.fnmatchcase(unit, self.unit)
                and fnmatch.fnmatchcase(path, self.path))

    def data(self) -> dict[str, str]:
        return {"space": self.space, "unit": self.unit, "path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class Finding:
    """A value the guard refuses: where it is, why, and the value masked."""

    space: str
    unit: str
    path: str
    rule: str  # secret-data, credential-env, or the detector's secret type ("GitHub Token")
    masked: str
    raw: str = field(default="", repr=False, compare=False)  # only for redacting text; never shown

    def what(self) -> str:
        return f"{_WHAT.get(self.rule, self.rule)} ({self.masked})"

    def line(self) -> str:
        return f"{self.space}/{self.unit}: {self.path}: {self.what()}"

    def data(self) -> dict[str, str]:
        return {"space": self.space, "unit": self.unit, "path": self.path, "rule": self.rule,
                "value": self.masked}


_WHAT = {"secret-data": "a Secret's value", "credential-env": "a literal credential in an env var"}


def mask(value: str) -> str:
    """What is shown instead of a secret: its length, never a character of it.

    >>> mask("P@ssw0rd123")
    '11 characters, masked'
    """
    return f"{len(value)} character{'s' * (len(value) != 1)}, masked"


def parse_allow(entries: Any, where: str) -> tuple[Allowed, ...]:
    """``secrets.allow`` of gitops.yaml: a list of {space, unit, path, reason}; reason required."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise GitopsError(f"{where}: secrets.allow must be a list",
                          "e.g. - {space: traderx-dev, unit: demo, path: data.TOKEN, reason: a public demo token}")
    allowed = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) - {"space", "unit", "path", "reason"}:
            raise GitopsError(f"{where}: secrets.allow entry {n} must have space, unit, path and reason",
                              "e.g. - {space: traderx-dev, unit: demo, path: data.TOKEN, reason: ...}")
        reason = str(entry.get("reason") or "").strip()
        if not reason:
            raise GitopsError(f"{where}: secrets.allow entry {n} has no reason",
                              "say why the value is not a secret (it is recorded for reviewers)")
        allowed.append(Allowed(str(entry.get("space", "*")), str(entry.get("unit", "*")),
                               str(entry.get("path", "*")), reason))
    return tuple(allowed)


def scan(data: Any, space: str, unit: str, allowed: Sequence[Allowed] = ()) -> list[Finding]:
    """Every value of one manifest the guard refuses (the allow-list applied)."""
    if not isinstance(data, dict):
        return []
    group = str(data.get("apiVersion") or "").rpartition("/")[0]
    kind = data.get("kind")
    if (group, kind) in _SEALED:
        return []
    found: list[Finding] = []
    sops = isinstance(data.get("sops"), dict)
    if kind == "Secret" and group == "":
        for field in ("data", "stringData"):
            values = data.get(field)
            if isinstance(values, dict):
                for key, value in values.items():
                    if _plain(value, sops):
                        found.append(Finding(space, unit, f"{field}.{key}", "secret-data", mask(str(value)), str(value)))
    skip = {"data", "stringData"} if kind == "Secret" and group == "" else set()
    for top, node in data.items():
        if top in skip or (sops and top == "sops"):
            continue
        for path, key, value, env in _strings(node, str(top), str(top), False):
            if sops and value.startswith("ENC["):
                continue
            if env and credential_name(key) and _plain(value, False):
                found.append(Finding(space, unit, path, "credential-env", mask(value), value))
                continue
            rule = _detected(key, value)
            if rule is not None:
                found.append(Finding(space, unit, path, rule, mask(value), value))
    return unallowed(found, allowed)


def scan_metadata(data: Any, space: str, unit: str, allowed: Sequence[Allowed] = ()) -> list[Finding]:
    """``scan`` of metadata.name, metadata.namespace and the metadata.labels values alone (in
    the manifest's order, as ``scan`` finds them): for a manifest found clean apart from those
    (what regions of one fleet differ in)."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(metadata, dict):
        return []
    found = []
    for key, value in metadata.items():
        if key in ("name", "namespace") and isinstance(value, str):
            if rule := _detected(key, value):
                found.append(Finding(space, unit, f"metadata.{key}", rule, mask(value), value))
        elif key == "labels" and isinstance(value, dict):
            for label, text in value.items():
                if isinstance(text, str) and (rule := _detected(str(label), text)):
                    found.append(Finding(space, unit, f"metadata.labels.{label}", rule, mask(text), text))
    return unallowed(found, allowed)


def unallowed(findings: Sequence[Finding], allowed: Sequence[Allowed]) -> list[Finding]:
    """The findings the allow-list does not cover."""
    return [f for f in findings if not any(a.covers(f.space, f.unit, f.path) for a in allowed)]


def redact_value(path: str, value: Any) -> Any:
    """A value as a table shows it (a conflict, an override, drift): masked where the guard
    would refuse it at that path (``...env[DB_PASSWORD].value``, ``data.password``).

    >>> redact_value("spec.template.spec.containers[t].env[DB_PASSWORD].value", "P@ssw0rd123")
    '11 characters, masked'
    >>> redact_value("spec.replicas", 3), redact_value("metadata.name", "web-gui")
    (3, 'web-gui')
    >>> redact_value("spec.template.spec.containers[t].env", [{"name": "API_TOKEN", "value": "abc"}])
    [{'name': 'API_TOKEN', 'value': '3 characters, masked'}]
    """
    if isinstance(value, dict):
        return {k: redact_value(f"{path}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(f"{path}[{_element(item, n)}]", item) for n, item in enumerate(value)]
    if not isinstance(value, str) or not _plain(value, False):
        return value
    key = path.rpartition(".")[2]
    if key == "value" and path.endswith("].value"):
        key = path[:-len("].value")].rpartition("[")[2]
    key = key.partition("[")[0] or key
    if credential_name(key) or _detected(key, value):
        return mask(value)
    return value


def redact_text(text: str, values: Sequence[str]) -> str:
    r"""``text`` (YAML, or a diff of it) with each of ``values`` masked where it stands as a
    value: after ``key:`` or ``- ``, or as whole lines of a block scalar.

    >>> print(redact_text("  - name: A\n    value: hunter22\n  hunter22x: 1\n", ["hunter22"]))
      - name: A
        value: ********
      hunter22x: 1
    <BLANKLINE>
    """
    for value in sorted(set(values), key=len, reverse=True):
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if len(lines) == 1:
            pattern = re.compile(r"(?m)((?::|^[-+ ]?\s*-)\s+)([\"']?)" + re.escape(lines[0]) + r"\2(\s*)$")
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}********{m.group(2)}{m.group(3)}", text)
        else:
            for line in lines:
                text = re.sub(r"(?m)^([-+ ]?\s*)" + re.escape(line) + r"(\s*)$",
                              lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return text


def refuse(findings: Sequence[Finding]) -> None:
    """Raise SecretError for the findings (one line: the first, and how many more)."""
    if not findings:
        return
    first = findings[0]
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    raise SecretError(f"refused: {first.line()}{more}; nothing was written",
                      f"reference it instead ({SECRET_WAYS}); a false positive goes in gitops.yaml "
                      f"secrets.allow with a reason (space: {first.space}, unit: {first.unit}, "
                      f"path: {first.path})")


def _plain(value: Any, sops: bool) -> bool:
    """A value that holds something: not empty, not a reference, not SOPS ciphertext."""
    if value is None:
        return False
    text = value if isinstance(value, str) else str(value)
    if not text.strip() or _REFERENCE_VALUE.match(text.strip()):
        return False
    return not (sops and text.startswith("ENC["))


def _element(item: Any, index: int) -> str:
    """How a list element is named in a path: its name, else its index."""
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else str(index)


def _strings(node: Any, path: str, key: str, env: bool) -> Iterator[tuple[str, str, str, bool]]:
    """(path, key, value, is an env value) of every string: ``key`` is the map key above it,
    for an env var's value its name. List elements with a name are written ``[name]``, as
    conflicts are. Subtrees that only reference secrets are skipped."""
    if isinstance(node, str):
        yield path, key, node, env
    elif isinstance(node, dict):
        for k, v in node.items():
            if k in _REFERENCE_PARENTS and isinstance(v, (dict, list)):
                continue
            yield from _strings(v, f"{path}.{k}" if path else str(k), str(k), False)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            name = item.get("name") if isinstance(item, dict) else None
            at = f"{path}[{_element(item, n)}]"
            if key == "env" and isinstance(name, str):
                for k, v in item.items():
                    if k not in _REFERENCE_PARENTS:
                        yield from _strings(v, f"{at}.{k}", name if k == "value" else str(k), k == "value")
            else:
                yield from _strings(item, at, key, False)


@lru_cache(maxsize=4096)
def credential_name(key: str) -> bool:
    """Whether a key or env var name says credential: its last word does.

    >>> [credential_name(k) for k in ("DB_PASSWORD", "apiToken", "AWS_SECRET_ACCESS_KEY", "API_KEY",
    ...                               "SECRET_KEY_BASE")]
    [True, True, True, True, True]
    >>> [credential_name(k) for k in ("TOKEN_TTL", "secretName", "PASSWORD_FILE", "CACHE_KEY", "PATH")]
    [False, False, False, False, False]
    """
    words = [w.upper() for w in _WORD.findall(key)]
    while len(words) > 1 and words[-1] in _FORM_WORDS:  # SECRET_KEY_BASE, PASSWORD_B64
        words.pop()
    if not words:
        return False
    if words[-1] in _CREDENTIAL_WORDS:
        return True
    return words[-1] == "KEY" and len(words) > 1 and words[-2] in _KEY_WORDS


@lru_cache(maxsize=65536)
def _detected(key: str, value: str) -> str | None:
    """The secret type detect-secrets sees in ``value`` under ``key``, or None."""
    d = _detectors()
    line = f'{key}: "{value}"'
    for plugin in d.everywhere:
        if any(True for _ in plugin.analyze_string(line)):
            return str(plugin.secret_type)
    if not credential_name(key) or not _plain(value, False):
        return None
    if any(True for _ in d.keyword.analyze_string(line, denylist_regex_to_group=d.yaml_keywords)):
        return str(d.keyword.secret_type)
    for plugin in d.entropy:
        for candidate in plugin.analyze_string(line):
            if plugin.calculate_shannon_entropy(candidate) > plugin.entropy_limit:
                return str(plugin.secret_type)
    return None


@dataclass(frozen=True)
class _Detectors:
    everywhere: tuple[Any, ...]
    keyword: Any
    yaml_keywords: Any
    entropy: tuple[Any, ...]


@lru_cache(maxsize=1)
def _detectors() -> _Detectors:
    with _without_requests():
        return _made_detectors()


@contextmanager
def _without_requests() -> Iterator[None]:
    """detect-secrets imports ``requests`` (and urllib3, charset_normalizer, ssl: ~0.25 s) only
    to verify a finding online, which gitops never asks for (``analyze_string`` is offline):
    while it is imported, ``requests`` is an empty module, unless the real one is loaded."""
    stub = ModuleType("requests")
    placed = sys.modules.setdefault("requests", stub) is stub
    try:
        yield
    finally:
        if placed and sys.modules.get("requests") is stub:
            del sys.modules["requests"]


def _made_detectors() -> _Detectors:
    from detect_secrets.plugins import (
        artifactory, aws, azure_storage_key, basic_auth, discord, github_token, gitlab_token,
        high_entropy_strings, jwt, keyword, mailchimp, npm, openai, private_key, pypi_token,
        sendgrid, slack, square_oauth, stripe, telegram_token, twilio,
    )
    from detect_secrets.util.filetype import FileType

    everywhere = (
        private_key.PrivateKeyDetector(), aws.AWSKeyDetector(), github_token.GitHubTokenDetector(),
        gitlab_token.GitLabTokenDetector(), slack.SlackDetector(), jwt.JwtTokenDetector(),
        stripe.StripeDetector(), npm.NpmDetector(), pypi_token.PypiTokenDetector(),
        openai.OpenAIDetector(), sendgrid.SendGridDetector(), twilio.TwilioKeyDetector(),
        discord.DiscordBotTokenDetector(), telegram_token.TelegramBotTokenDetector(),
        mailchimp.MailchimpDetector(), square_oauth.SquareOAuthDetector(),
        artifactory.ArtifactoryDetector(), azure_storage_key.AzureStorageKeyDetector(),
        basic_auth.BasicAuthDetector(),
    )
    return _Detectors(
        everywhere, keyword.KeywordDetector(), keyword.REGEX_BY_FILETYPE[FileType.YAML],
        (high_entropy_strings.Base64HighEntropyString(), high_entropy_strings.HexHighEntropyString()))
