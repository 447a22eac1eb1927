package search

import (
	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// ParseRunFilter parses a search_runs filter string and checks it as
// MLflow's SQL store does before it runs a query: the syntax and keys
// (SearchUtils.parse_search_filter), then each clause's comparator for its
// entity type. Errors wrap store.ErrInvalidParameter and carry MLflow's
// message, except the few MLflow raises as internal errors (see
// [IsInternal]). An empty filter gives a Filter with no clauses.
//
// Accepted: prefixes metric(s). param(s). parameter(s). tag(s). dataset(s).
// attribute(s). attr. run. or none (an attribute), in lower case,
// optionally in backticks; keys bare, "double-quoted", 'single-quoted' or
// `backticked`; attribute keys run_id, run_name, status, user_id,
// artifact_uri, start_time, end_time and the aliases created, Created,
// `run name`, `Run name`, `Run Name`; dataset keys name, digest, context.
// Comparators: metrics and start_time/end_time = != < <= > >= with a number;
// params and tags = != LIKE ILIKE with a quoted string, and IS NULL / IS NOT
// NULL; string attributes = != LIKE ILIKE, and IN / NOT IN (a list) for
// run_id only; datasets = != LIKE ILIKE IN NOT IN. Clauses are joined with
// AND (any case); OR, NOT and parentheses are rejected.
func ParseRunFilter(filter string) (*Filter, error) {
	raw, err := parseSyntax(Runs, filter)
	if err != nil {
		return nil, err
	}
	return validateRunClauses(raw)
}

// ParseExperimentFilter parses a search_experiments filter string and
// checks it as MLflow's SQL store does. Prefixes: none or attribute. (an
// attribute), tag. or tags.; attributes name (= != LIKE ILIKE),
// experiment_id (= != with a quoted integer, IN / NOT IN with a list),
// creation_time and last_update_time (= != < <= > >= with an integer);
// tags = != LIKE ILIKE, IS NULL, IS NOT NULL. Comparators are
// case-sensitive here (MLflow does not upper-case them for experiments).
func ParseExperimentFilter(filter string) (*Filter, error) {
	raw, err := parseSyntax(Experiments, filter)
	if err != nil {
		return nil, err
	}
	return validateExperimentClauses(raw)
}

// ParseRegisteredModelFilter parses a search_registered_models filter
// string and checks it as MLflow's SQL model registry does: the attribute
// name (= != LIKE ILIKE, IN / NOT IN with a list) and tags (= != LIKE
// ILIKE).
func ParseRegisteredModelFilter(filter string) (*Filter, error) {
	raw, err := parseSyntax(RegisteredModels, filter)
	if err != nil {
		return nil, err
	}
	return validateRegistryClauses(RegisteredModels, raw)
}

// ParseModelVersionFilter parses a search_model_versions filter string and
// checks it as MLflow's SQL model registry does: attributes name, run_id
// (= != LIKE ILIKE, IN / NOT IN with a list), source_path (= != LIKE ILIKE),
// version_number (= != < <= > >= with an integer) and tags (= != LIKE
// ILIKE).
func ParseModelVersionFilter(filter string) (*Filter, error) {
	raw, err := parseSyntax(ModelVersions, filter)
	if err != nil {
		return nil, err
	}
	return validateRegistryClauses(ModelVersions, raw)
}

// errListBinding is what MLflow's SQL store reports when a list value meets
// a comparator other than IN / NOT IN: SQLite cannot bind a tuple (MLflow
// answers BAD_REQUEST with the driver's message).
func errListBinding() error {
	return store.Invalidf("Error binding parameter: type 'tuple' is not supported")
}

func validateRunClauses(raw []rawClause) (*Filter, error) {
	f := &Filter{Kind: Runs}
	for _, rc := range raw {
		op := pysql.Upper(rc.op)
		key := translateKeyAlias(rc.key)
		c := Clause{Entity: rc.entity, Key: key, Op: Op(op), Value: rc.value}
		switch rc.entity {
		case Attribute:
			if contains(runNumericAttrs, key) {
				if !contains(metricComparators, op) {
					return nil, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(stringAttrComparator))
				}
			} else {
				if !contains(stringAttrComparator, op) {
					return nil, store.Invalidf("Invalid comparator '%s' not one of '%s'", op, pysql.SetRepr(stringAttrComparator))
				}
				if rc.value.Kind == ListValue && op != "IN" && op != "NOT IN" {
					return nil, errListBinding()
				}
			}
		case Metric:
			if !contains(metricComparators, op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(metricComparators))
			}
		case Param:
			if !contains(paramComparators, op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s'", op, pysql.SetRepr(paramComparators))
			}
		case Tag:
			if !contains(paramComparators, op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(paramComparators))
			}
		case Dataset:
			if !contains(datasetComparators, op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(datasetComparators))
			}
			if rc.value.Kind == ListValue && op != "IN" && op != "NOT IN" {
				return nil, errListBinding()
			}
		}
		f.Clauses = append(f.Clauses, c)
	}
	return f, nil
}

func validateExperimentClauses(raw []rawClause) (*Filter, error) {
	f := &Filter{Kind: Experiments}
	for _, rc := range raw {
		op := rc.op // not upper-cased for experiments
		c := Clause{Entity: rc.entity, Key: rc.key, Op: Op(op), Value: rc.value}
		switch {
		case rc.entity == Attribute && rc.key == "experiment_id":
			if op != "=" && op != "!=" && op != "IN" && op != "NOT IN" {
				return nil, store.Invalidf("Invalid comparator for experiment_id: %s", op)
			}
			ids := rc.value.List
			if rc.value.Kind == StringValue {
				ids = []string{rc.value.Str}
			}
			for _, id := range ids {
				if _, err := pysql.Int(id); err != nil {
					return nil, store.Invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
				}
			}
			if rc.value.Kind == ListValue && op != "IN" && op != "NOT IN" {
				return nil, errListBinding()
			}
		case rc.entity == Attribute && contains(expNumericAttrs, rc.key):
			if !contains(metricComparators, op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(stringAttrComparator))
			}
			if !rc.value.IsInt {
				return nil, store.Invalidf("Invalid value for numeric attribute '%s': %s", rc.key, pysql.Repr(pyfloat.Repr(rc.value.Num)))
			}
		case rc.entity == Attribute:
			if !contains(stringAttrComparator, op) {
				return nil, store.Invalidf("Invalid comparator '%s' not one of '%s'", op, pysql.SetRepr(stringAttrComparator))
			}
			if op != "=" && op != "!=" && op != "LIKE" && op != "ILIKE" {
				return nil, store.Invalidf("Invalid comparator for string attribute: %s", op)
			}
		case rc.entity == Tag:
			if op != "IS NULL" && op != "IS NOT NULL" && op != "=" && op != "!=" && op != "LIKE" && op != "ILIKE" {
				return nil, store.Invalidf("Invalid comparator for tag: %s", op)
			}
		}
		f.Clauses = append(f.Clauses, c)
	}
	return f, nil
}

func validateRegistryClauses(kind Kind, raw []rawClause) (*Filter, error) {
	f := &Filter{Kind: kind}
	for _, rc := range raw {
		op := rc.op // upper-cased by the registry parsers
		c := Clause{Entity: rc.entity, Key: rc.key, Op: Op(op), Value: rc.value}
		switch {
		case rc.entity == Tag:
			if op != "=" && op != "!=" && op != "LIKE" && op != "ILIKE" {
				return nil, store.Invalidf("Invalid comparator for tag: %s", op)
			}
		case kind == RegisteredModels:
			if !contains(stringAttrComparator, op) {
				return nil, store.Invalidf("Invalid comparator for attribute: %s", op)
			}
		case contains(mvNumericAttrs, rc.key):
			if !contains(metricComparators, op) {
				return nil, store.Invalidf("Invalid comparator for attribute %s: %s", rc.key, op)
			}
			switch {
			case rc.value.Kind == NumberValue && !rc.value.IsInt:
				return nil, store.Invalidf("Invalid value for numeric attribute '%s': %s", rc.key, pyfloat.Repr(rc.value.Num))
			case rc.value.Kind == StringValue:
				n, err := pysql.Int(rc.value.Str)
				if err != nil {
					return nil, store.Invalidf("Invalid value for numeric attribute '%s': %s", rc.key, pysql.Repr(rc.value.Str))
				}
				c.Value = Value{Kind: NumberValue, IsInt: true, Int: n, Num: float64(n), Raw: rc.value.Raw}
			}
		default:
			if !contains(stringAttrComparator, op) || ((op == "IN" || op == "NOT IN") && rc.key != "run_id" && rc.key != "name") {
				return nil, store.Invalidf("Invalid comparator for attribute: %s", op)
			}
		}
		if c.Value.Kind == ListValue && op != "IN" && op != "NOT IN" {
			return nil, errListBinding()
		}
		f.Clauses = append(f.Clauses, c)
	}
	return f, nil
}
