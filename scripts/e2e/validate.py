"""Validates an OpenAPI document served by the running service.

Usage: python validate.py URL 3.0|2.0

Fetches URL, checks that it declares the expected version (`openapi: 3.0.x` or
`swagger: "2.0"`) and validates it with openapi-spec-validator. Prints every error with
its JSON path and the most specific reasons, and exits 1 when there is any.
"""

import json
import sys
import urllib.request

from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator


def leaves(error):
    """The innermost errors under a oneOf/anyOf failure: they say what is wrong."""
    if not error.context:
        yield error
        return
    for child in error.context:
        yield from leaves(child)


def pointer(path):
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def main():
    url, version = sys.argv[1], sys.argv[2]
    with urllib.request.urlopen(url, timeout=10) as response:
        status = response.status
        document = json.load(response)
    problems = []
    if status != 200:
        problems.append(f"GET {url} answered {status}")
    if version == "3.0":
        declared = str(document.get("openapi", ""))
        if not declared.startswith("3.0."):
            problems.append(f"declares openapi={declared!r}, expected 3.0.x")
        validator = OpenAPIV30SpecValidator(document)
    else:
        declared = str(document.get("swagger", ""))
        if declared != "2.0":
            problems.append(f"declares swagger={declared!r}, expected 2.0")
        validator = OpenAPIV2SpecValidator(document)
    for error in validator.iter_errors():
        lines = [f"at {pointer(error.absolute_path)}: {error.message[:200]}"]
        seen = set()
        # "'$ref' is a required property" only says the value is not a Reference
        # Object either, the other branch of the oneOf: leave it out.
        reasons = [e for e in leaves(error) if e.message != "'$ref' is a required property"]
        for leaf in sorted(reasons, key=lambda e: -len(e.absolute_path)):
            reason = f"{pointer(leaf.absolute_path)}: {leaf.message[:300]}"
            if leaf is not error and reason not in seen:
                seen.add(reason)
                lines.append(f"    because {reason}")
        problems.append("\n".join(lines))
    paths = len(document.get("paths", {}))
    if problems:
        print(f"{url}: {len(problems)} error(s) (openapi-spec-validator, {version})")
        for problem in problems:
            print("  - " + problem.replace("\n", "\n    "))
        return 1
    print(f"{url}: valid OpenAPI {version}, {paths} paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
