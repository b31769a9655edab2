"""Swagger 2.0 specs of the Azure REST API: find the operation behind a URL, validate payloads.

The validation follows what `oav validate-traffic` reports (see reference/README.md):

* a status code the operation does not declare, with no `default` response, is
  INVALID_RESPONSE_CODE;
* `allOf` parents are flattened into their children; an object schema that declares
  `properties`, no `additionalProperties`, no `discriminator`, and is nobody's `allOf` parent
  rejects unknown properties (OBJECT_ADDITIONAL_PROPERTIES);
* a property that is not required, an array item and an `additionalProperties` value may be
  null unless `x-nullable: false`; anything else may be null only with `x-nullable: true`;
* `x-ms-enum` with `modelAsString: true` leaves the enum unenforced;
* `readOnly` properties are errors in a request body and allowed in a response;
* `discriminator` picks the subtype named by the discriminator property.

One rule is stricter than oav: a schema with `properties` or `allOf` and no `type` (most of
the storage definitions) must be an object.

The api-version of a URL is ignored: the SDKs send newer versions than the specs here.
"""
from __future__ import annotations

import functools
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import unquote, urlsplit

import jsonschema
from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError

SPECS_ROOT = Path(__file__).resolve().parent / "reference" / "specs"

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")

# (spec file relative to the root, with "/" separators; JSON pointer, "" for the whole file)
Location = tuple[str, str]


# --------------------------------------------------------------------------- documents and $ref


def _pointer_get(document: Any, pointer: str) -> Any:
    node = document
    if not pointer:
        return node
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _ref_location(base_file: str, ref: str) -> Location:
    file_part, _sep, pointer = ref.partition("#")
    if file_part:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), file_part))
    else:
        target = base_file
    return target, unquote(pointer)


class _Documents:
    """Every spec file under a root, addressable by (file, pointer)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Any] = {}
        for path in sorted(root.rglob("*.json")):
            rel = path.relative_to(root).as_posix()
            if "/examples/" in f"/{rel}":
                continue
            self.files[rel] = json.loads(path.read_text(encoding="utf-8"))

    def get(self, location: Location) -> Any:
        file, pointer = location
        if file not in self.files:
            raise KeyError(f"$ref to a file that is not loaded: {file}")
        return _pointer_get(self.files[file], pointer)

    def resolve(self, base_file: str, node: Any) -> tuple[Location | None, Any]:
        """Follows `$ref` chains from `node`; returns where the final node lives and the node.

        The location is None when `node` is not a `$ref` (it lives inline in `base_file`).
        """
        location: Location | None = None
        seen: set[Location] = set()
        while isinstance(node, dict) and "$ref" in node:
            location = _ref_location(location[0] if location else base_file, node["$ref"])
            if location in seen:
                raise ValueError(f"$ref cycle through {location}")
            seen.add(location)
            node = self.get(location)
        return location, node

    def walk(self) -> Iterator[tuple[str, str, Any]]:
        """Yields (file, pointer, node) for every JSON object in every file."""
        for file, document in self.files.items():
            stack: list[tuple[str, Any]] = [("", document)]
            while stack:
                pointer, node = stack.pop()
                if isinstance(node, dict):
                    yield file, pointer, node
                    children = node.items()
                elif isinstance(node, list):
                    children = ((str(i), v) for i, v in enumerate(node))
                else:
                    continue
                for key, value in children:
                    token = key.replace("~", "~0").replace("/", "~1")
                    stack.append((f"{pointer}/{token}", value))


# --------------------------------------------------------------------------- schema compilation


def _definition_id(location: Location) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{location[0]}{location[1]}")


class _SchemaCompiler:
    """Turns swagger schemas into Draft 4 JSON schemas sharing one `definitions` map.

    Every `$ref` target becomes one entry of `definitions`, registered before it is compiled,
    so recursive schemas (an error whose `details` are errors) compile to recursive `$ref`s.
    """

    def __init__(self, documents: _Documents) -> None:
        self.documents = documents
        self.definitions: dict[str, Any] = {}
        self._ids: dict[Location, str] = {}
        self._parents = self._allof_parents()
        self.base_schemas = {parent for parents in self._parents.values() for parent in parents}
        self._subtypes = self._discriminator_subtypes()

    def _allof_parents(self) -> dict[Location, list[Location]]:
        parents: dict[Location, list[Location]] = {}
        for file, pointer, node in self.documents.walk():
            for member in node.get("allOf") or ():
                if isinstance(member, dict) and "$ref" in member:
                    location, _member = self.documents.resolve(file, member)
                    parents.setdefault((file, pointer), []).append(location)
        return parents

    def _ancestors(self, location: Location) -> Iterator[Location]:
        seen: set[Location] = set()
        stack = list(self._parents.get(location, ()))
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.add(parent)
                yield parent
                stack.extend(self._parents.get(parent, ()))

    def _discriminator_subtypes(self) -> dict[Location, dict[str, Location]]:
        subtypes: dict[Location, dict[str, Location]] = {}
        for child in self._parents:
            file, pointer = child
            if not pointer.startswith("/definitions/") or pointer.count("/") != 2:
                continue
            node = self.documents.get(child)
            value = node.get("x-ms-discriminator-value", pointer.rsplit("/", 1)[1])
            for ancestor in self._ancestors(child):
                if "discriminator" in self.documents.get(ancestor):
                    subtypes.setdefault(ancestor, {})[value] = child
        return subtypes

    def schema(self, file: str, node: Any) -> Any:
        """The compiled form of a schema found in `file` (for resolving its relative `$ref`s)."""
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            location, target = self.documents.resolve(file, node)
            assert location is not None
            reference = {"$ref": f"#/definitions/{self._define(location, target)}"}
            # Draft 4 ignores a $ref's siblings; swagger does not.
            if node.get("readOnly"):
                return {"allOf": [reference], "readOnly": True}
            return reference
        return self._inline(file, node, None)

    def _define(self, location: Location, node: Any) -> str:
        if location in self._ids:
            return self._ids[location]
        name = _definition_id(location)
        while name in self.definitions:
            name += "_"
        self._ids[location] = name
        self.definitions[name] = {}
        self.definitions[name] = self._inline(location[0], node, location)
        return name

    def _member(self, file: str, node: Any, nullable_by_default: bool) -> Any:
        """A property, array item or map value: applies oav's nullability rules."""
        compiled = self.schema(file, node)
        if not isinstance(node, dict):
            return compiled
        _location, target = self.documents.resolve(file, node)
        nullable = node.get("x-nullable", target.get("x-nullable") if isinstance(target, dict) else None)
        if nullable is None:
            nullable = nullable_by_default
        if not nullable or not isinstance(compiled, dict):
            return compiled
        inner = dict(compiled)
        wrapper: dict[str, Any] = {"x-or-null": inner}
        if inner.pop("readOnly", False):
            wrapper["readOnly"] = True
        return wrapper

    def _flatten(self, file: str, node: dict, seen: frozenset[int] = frozenset()) -> tuple[dict, list]:
        """Properties (name -> (file, schema)) and required names, `allOf` parents included."""
        properties = {name: (file, schema) for name, schema in (node.get("properties") or {}).items()}
        required = list(node.get("required") or ())
        for member in node.get("allOf") or ():
            location, parent = self.documents.resolve(file, member)
            if id(parent) in seen:
                continue
            parent_file = location[0] if location else file
            inherited, inherited_required = self._flatten(parent_file, parent, seen | {id(parent)})
            for name, value in inherited.items():
                properties.setdefault(name, value)
            required.extend(name for name in inherited_required if name not in required)
        return properties, required

    def _inline(self, file: str, node: Any, location: Location | None) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self.schema(file, node)
        out: dict[str, Any] = {}
        kind = node.get("type")
        if kind and kind != "file":
            out["type"] = kind
        elif kind is None and (node.get("properties") or node.get("allOf")):
            # Stricter than oav, which lets `"cors": []` through when CorsRules omits `type`.
            out["type"] = "object"
        for keyword in (
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
            "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "multipleOf",
            "minProperties", "maxProperties", "format", "readOnly",
        ):
            if keyword in node:
                out[keyword] = node[keyword]
        if "enum" in node and not (node.get("x-ms-enum") or {}).get("modelAsString", False):
            out["enum"] = node["enum"]
        if "items" in node:
            out["items"] = self._member(file, node["items"], nullable_by_default=True)

        if kind not in (None, "object") and node.get("allOf"):
            out["allOf"] = [self.schema(file, member) for member in node["allOf"]]
            return out

        properties, required = self._flatten(file, node)
        if properties:
            out["properties"] = {
                name: self._member(prop_file, schema, nullable_by_default=name not in required)
                for name, (prop_file, schema) in properties.items()
            }
        if required:
            out["required"] = required
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = self._member(file, extra, nullable_by_default=True)
        elif extra is not None:
            out["additionalProperties"] = bool(extra)
        elif properties and location not in self.base_schemas and "discriminator" not in node:
            out["additionalProperties"] = False

        if "discriminator" in node and location in self._subtypes:
            mapping = {
                value: f"#/definitions/{self._define(child, self.documents.get(child))}"
                for value, child in self._subtypes[location].items()
            }
            return {"x-discriminator": {"property": node["discriminator"], "mapping": mapping, "fallback": out}}
        return out


# --------------------------------------------------------------------------- validators


def _or_null(validator: Any, subschema: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if instance is not None:
        yield from validator.descend(instance, subschema)


def _discriminator(validator: Any, spec: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    target = spec["fallback"]
    if isinstance(instance, dict):
        value = instance.get(spec["property"])
        if isinstance(value, str) and value in spec["mapping"]:
            target = {"$ref": spec["mapping"][value]}
    yield from validator.descend(instance, target)


def _required(validator: Any, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError(f"missing required property {name!r}")


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    for name in instance:
        if name in known:
            continue
        if extra is False:
            yield ValidationError(f"property {name!r} is not declared by the schema", path=[name])
        elif isinstance(extra, dict):
            yield from validator.descend(instance[name], extra, path=name)


def _read_only(validator: Any, read_only: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if read_only:
        yield ValidationError("the property is read-only and must not be sent")


_ResponseValidator = validators.extend(
    Draft4Validator,
    {
        "x-or-null": _or_null,
        "x-discriminator": _discriminator,
        "required": _required,
        "additionalProperties": _additional_properties,
    },
)
_RequestValidator = validators.extend(_ResponseValidator, {"readOnly": _read_only})

_FORMATS = jsonschema.FormatChecker(formats=())
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@_FORMATS.checks("date-time")
def _is_date_time(value: Any) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@_FORMATS.checks("uuid")
def _is_uuid(value: Any) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


_CODES = {
    "type": "INVALID_TYPE",
    "required": "OBJECT_MISSING_REQUIRED_PROPERTY",
    "additionalProperties": "OBJECT_ADDITIONAL_PROPERTIES",
    "enum": "ENUM_MISMATCH",
    "readOnly": "READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST",
    "format": "INVALID_FORMAT",
    "pattern": "PATTERN",
    "minLength": "MIN_LENGTH",
    "maxLength": "MAX_LENGTH",
    "minimum": "MINIMUM",
    "maximum": "MAXIMUM",
    "minItems": "ARRAY_LENGTH_SHORT",
    "maxItems": "ARRAY_LENGTH_LONG",
    "uniqueItems": "ARRAY_UNIQUE",
    "multipleOf": "MULTIPLE_OF",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def json_path(parts: Iterable[str | int]) -> str:
    """`$.properties.cors.corsRules[0]`, with `['…']` for keys that are not identifiers."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def _message(error: ValidationError) -> str:
    # Values are not echoed (a payload may hold keys); enum values are safe and say the most.
    if error.validator == "type":
        return f"expected type {error.validator_value}, found {_json_type(error.instance)}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value!r}"
    if error.validator == "format":
        return f"value is not a valid {error.validator_value}"
    if error.validator in ("required", "additionalProperties", "readOnly"):
        return error.message
    return f"value violates {error.validator}={error.validator_value!r}"


def _schema_problems(where: str, validator_class: Any, schema: Any, definitions: dict, instance: Any) -> list[str]:
    root = {"definitions": definitions, "allOf": [schema]}
    validator = validator_class(root, format_checker=_FORMATS)
    problems = []
    for error in validator.iter_errors(instance):
        code = _CODES.get(str(error.validator), str(error.validator).upper())
        problems.append(f"{where} {json_path(error.absolute_path)}: {code}: {_message(error)}")
    return sorted(set(problems))


# --------------------------------------------------------------------------- operations


_PARAMETER = re.compile(r"\{([^}]+)\}")


def _url_provider(path: str) -> str | None:
    found = re.findall(r"/providers/([^/]+)", path, flags=re.IGNORECASE)
    return found[-1].lower() if found else None


def _url_resource_type(path: str) -> str | None:
    """The last resource type after the last `/providers/<namespace>/`, e.g. `roleDefinitions`."""
    match = re.search(r"/providers/[^/]+/(.+)$", path, flags=re.IGNORECASE)
    if not match:
        return None
    rest = [part for part in match.group(1).split("/") if part]
    if not rest:
        return None
    return (rest[-2] if len(rest) % 2 == 0 else rest[-1]).lower()


@dataclass(frozen=True, eq=False)
class Operation:
    operation_id: str
    method: str
    template: str
    spec_file: str
    api_version: str
    provider: str | None
    responses: Mapping[str, Any]
    body_parameter: str | None
    body_schema: Any
    examples: Mapping[str, str]
    specificity: tuple[int, int, int]
    _pattern: re.Pattern = field(repr=False, compare=False)
    _needs_provider: bool = field(repr=False, compare=False)
    _definitions: dict = field(repr=False, compare=False)

    def matches(self, path: str) -> bool:
        """Whether this operation serves a URL path.

        A template that names no provider namespace (`/{roleAssignmentId}`) takes only URLs of
        its spec's provider; one made of parameters alone also takes only its own resource
        type, judged by the operation group (RoleDefinitions_GetById: `.../roleDefinitions/x`).
        """
        if not self._pattern.fullmatch(path):
            return False
        if self._needs_provider and _url_provider(path) != (self.provider or "").lower():
            return False
        if self.specificity[0] == 0:
            return self.operation_id.split("_", 1)[0].lower() == _url_resource_type(path)
        return True

    def validate(self, status: int | str, body: Any, request_body: Any = None) -> list[str]:
        """Problems with a reply (and the request body, when given and the operation takes one).

        `body` None is validated as JSON null: an operation that declares a reply schema for
        the status expects a body.
        """
        problems: list[str] = []
        if request_body is not None and self.body_schema is not None:
            problems += _schema_problems(
                "request", _RequestValidator, self.body_schema, self._definitions, request_body
            )
        key = str(status)
        if key not in self.responses:
            if "default" not in self.responses:
                declared = ", ".join(sorted(self.responses))
                problems.append(
                    f"response status {key}: INVALID_RESPONSE_CODE: "
                    f"{self.operation_id} declares only {declared} and no default response"
                )
                return problems
            key = "default"
        schema = self.responses[key]
        if schema is not None:
            problems += _schema_problems("response", _ResponseValidator, schema, self._definitions, body)
        return problems


def _path_regex(template: str, multi_segment: set[str]) -> tuple[re.Pattern, tuple[int, int, int]]:
    path = template.split("?", 1)[0]
    literals = singles = multis = 0
    regex = ""
    for segment in path.strip("/").split("/"):
        pieces = _PARAMETER.split(segment)
        if len(pieces) == 1:
            literals += 1
        if regex and len(pieces) == 3 and pieces[0] == pieces[2] == "" and pieces[1] in multi_segment:
            # an inner whole-segment parameter such as {parentResourcePath} may be empty, as in ARM
            multis += 1
            regex += "(?:/(.+))?"
            continue
        regex += "/"
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                regex += re.escape(piece)
            elif piece in multi_segment:
                multis += 1
                regex += "(.+)"
            else:
                singles += 1
                regex += "([^/]+)"
    pattern = re.compile(regex + "/?", flags=re.IGNORECASE)
    return pattern, (literals, singles, -multis)


def _file_provider(spec_file: str) -> str | None:
    match = re.search(r"resource-manager/([^/]+)/", spec_file)
    return match.group(1) if match else None


class SpecIndex:
    """Every operation of every spec under a root, indexed by (method, path template)."""

    def __init__(self, root: Path, operations: tuple[Operation, ...]) -> None:
        self.root = root
        self.operations = operations
        self._by_method: dict[str, list[Operation]] = {}
        for operation in operations:
            self._by_method.setdefault(operation.method, []).append(operation)

    @classmethod
    def load(cls, root: str | Path = SPECS_ROOT) -> SpecIndex:
        return _load(Path(root).resolve())

    def operation(self, operation_id: str) -> Operation:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise KeyError(operation_id)

    def find(self, method: str, url: str) -> Operation | None:
        """The operation whose template matches the URL's path, the most specific one first.

        Literal segments beat parameters, single-segment parameters beat parameters that may
        span segments (`x-ms-skip-url-encoding`). The query string, api-version included, is
        ignored.
        """
        # ARM folds empty segments (`Microsoft.Storage//storageAccounts` for an empty parent path)
        path = re.sub("/{2,}", "/", unquote(urlsplit(url).path)).rstrip("/") or "/"
        candidates = [op for op in self._by_method.get(method.upper(), ()) if op.matches(path)]
        if not candidates:
            return None
        return max(candidates, key=lambda op: (*op.specificity, op.operation_id))

    def validate(
        self, method: str, url: str, status: int | str, body: Any, request_body: Any = None
    ) -> list[str]:
        operation = self.find(method, url)
        if operation is None:
            return [f"request {method.upper()} {urlsplit(url).path}: UNDEFINED_OPERATION: no operation matches"]
        return operation.validate(status, body, request_body)


def _parameters(documents: _Documents, file: str, raw: Iterable[Any]) -> list[tuple[str, dict]]:
    """Resolved parameters, each with the file its schema is relative to."""
    out = []
    for parameter in raw:
        location, resolved = documents.resolve(file, parameter)
        out.append((location[0] if location else file, resolved))
    return out


def _operation(
    documents: _Documents, compiler: _SchemaCompiler, file: str, template: str, method: str,
    spec: dict, shared_parameters: list[tuple[str, dict]],
) -> Operation:
    document = documents.files[file]
    provider = _file_provider(file)
    parameters = shared_parameters + _parameters(documents, file, spec.get("parameters") or ())
    multi = {p["name"] for _file, p in parameters if p.get("in") == "path" and p.get("x-ms-skip-url-encoding")}
    pattern, specificity = _path_regex(template, multi)
    body_parameter = body_schema = None
    for parameter_file, parameter in parameters:
        if parameter.get("in") == "body" and "schema" in parameter:
            body_parameter = parameter["name"]
            body_schema = compiler.schema(parameter_file, parameter["schema"])
    responses = {}
    for status, response in (spec.get("responses") or {}).items():
        location, response = documents.resolve(file, response)
        schema = response.get("schema")
        responses[str(status)] = None if schema is None else compiler.schema(location[0] if location else file, schema)
    examples = {
        name: posixpath.normpath(posixpath.join(posixpath.dirname(file), ref["$ref"]))
        for name, ref in (spec.get("x-ms-examples") or {}).items()
    }
    names_provider = re.search(r"/providers/[^{/]+(/|$)", template.split("?", 1)[0], flags=re.IGNORECASE)
    return Operation(
        operation_id=spec.get("operationId", f"{method} {template}"),
        method=method.upper(),
        template=template,
        spec_file=file,
        api_version=str((document.get("info") or {}).get("version", "")),
        provider=provider,
        responses=responses,
        body_parameter=body_parameter,
        body_schema=body_schema,
        examples=examples,
        specificity=specificity,
        _pattern=pattern,
        # Microsoft.Resources serves its own paths with no provider segment (`/subscriptions`,
        # `/tenants`): a template with a literal segment names its resource itself
        _needs_provider=provider is not None and not names_provider and specificity[0] == 0,
        _definitions=compiler.definitions,
    )


@functools.lru_cache(maxsize=None)
def _load(root: Path) -> SpecIndex:
    documents = _Documents(root)
    compiler = _SchemaCompiler(documents)
    operations = []
    for file, document in documents.files.items():
        for section in ("paths", "x-ms-paths"):
            for template, item in (document.get(section) or {}).items():
                shared = _parameters(documents, file, item.get("parameters") or ())
                operations += [
                    _operation(documents, compiler, file, template, method, item[method], shared)
                    for method in HTTP_METHODS
                    if method in item
                ]
    return SpecIndex(root, tuple(operations))
