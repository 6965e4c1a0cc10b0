"""How much one GraphQL request may ask for: depth, aliases, tokens and cost.

Depth, aliases and tokens are strawberry's own extensions. Cost is ours: every
field selected costs 1, and a list multiplies the cost of what is selected inside
it by its size: a connection's ``edges`` by its ``first`` (a variable counts with
its value), any other list (order lines, introspection's ``types`` or
``fields``) by ``LIST_ESTIMATE``. Introspection is counted like everything
else, so a deeply nested ``__schema`` query is refused like a deeply nested
catalog query. The estimate runs on the parsed document before validation,
with fragments memoised, so a document whose fragments expand exponentially
costs linear time to refuse; when it is refused, validation does not run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    KnownFragmentNamesRule,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    validate,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.extensions import SchemaExtension

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2_000
MAX_COST = 10_000
PAGE_DEFAULT = 20
PAGE_MAX = 100  # the same bound as REST's ?limit=
LIST_ESTIMATE = 5


@dataclass
class _Estimator:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    memo: dict[tuple[str, int | None], int] = field(default_factory=dict)
    expanding: set[str] = field(default_factory=set)

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, size: int | None
    ) -> int:
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, size)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(node.selection_set, target, size)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value, size)
        return total

    def fragment(self, name: str, size: int | None) -> int:
        key = (name, size)
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        if definition is None or name in self.expanding:
            return 0  # unknown or cyclic: validation reports it
        self.expanding.add(name)
        target = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selections(definition.selection_set, target, size)
        self.expanding.discard(name)
        self.memo[key] = cost
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, size: int | None) -> int:
        if node.selection_set is None:
            return 1
        definition = self._definition(parent, node.name.value)
        if definition is None:
            # Unknown here (validation will say so); still counted, so that
            # fragments under it can't expand unseen.
            return 1 + self.selections(node.selection_set, None, None)
        many = is_list_type(get_nullable_type(definition.type))
        multiplier = (size or LIST_ESTIMATE) if many else 1
        inner = self.page_size(node, definition) if "first" in definition.args else None
        target = get_named_type(definition.type)
        return 1 + multiplier * self.selections(node.selection_set, target, inner)

    def _definition(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if parent is not None and parent is self.schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return None
        found: GraphQLField | None = parent.fields.get(name)
        return found

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        """``first`` as the resolver will see it, bounded to what a page may hold."""
        value: Any = definition.args["first"].default_value
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            literal = argument.value
            if isinstance(literal, IntValueNode):
                value = int(literal.value)
            elif isinstance(literal, VariableNode):
                value = self.variables.get(literal.name.value, PAGE_MAX)
        if not isinstance(value, int) or isinstance(value, bool):
            return PAGE_MAX  # unknown until execution: assume the worst
        return min(max(value, 1), PAGE_MAX)


def _defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if isinstance(default, IntValueNode):
            values[definition.variable.name.value] = int(default.value)
    return values


def estimate(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None
) -> int:
    """The highest cost of the document's operations (validation walks them all)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    given = variables if isinstance(variables, Mapping) else {}
    highest = 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        root = schema.query_type if operation.operation is OperationType.QUERY else None
        estimator = _Estimator(schema, fragments, {**_defaults(operation), **given})
        highest = max(highest, estimator.selections(operation.selection_set, root, None))
    return highest


def _clearer(error: GraphQLError) -> GraphQLError:
    if error.message != "Validation aborted.":
        return error
    return GraphQLError("Fragments are nested too deeply.", extensions={"code": "query_too_deep"})


class QueryCost(SchemaExtension):
    """Refuse, before validation, an operation whose estimated cost is over ``MAX_COST``."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            schema = context.schema._schema
            # Strawberry's depth limiter fails on a spread of an unknown fragment:
            # the standard rule reports it first, and validation then does not run.
            # That call also refuses fragments nested deeper than graphql-core (and
            # the estimate below) can recurse into, with a terse message.
            unknown = validate(schema, document, [KnownFragmentNamesRule])
            if unknown:
                context.pre_execution_errors = [_clearer(e) for e in unknown]
                yield
                return
            cost = estimate(schema, document, context.variables)
            if cost > MAX_COST:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"The query's estimated cost is {cost}; at most {MAX_COST} is allowed. "
                        "Ask for fewer items (first) or fewer nested fields.",
                        extensions={"code": "query_too_complex", "cost": cost, "maxCost": MAX_COST},
                    )
                ]
        yield
