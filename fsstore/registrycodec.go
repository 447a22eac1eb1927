package fsstore

import (
	"strconv"

	"github.com/mlrun-go/mlrun/store"
)

// The YAML codecs of the registry's meta.yaml files (see registry.go for
// the layout).

type rmMeta struct {
	Name        string
	Created     int64
	Updated     int64
	Description *string
}

func encodeRMMeta(m *rmMeta, aliases map[string]int64) ([]byte, error) {
	am := map[string]any{}
	for a, v := range aliases {
		am[a] = strconv.FormatInt(v, 10)
	}
	return marshalYAML(map[string]any{
		"aliases":                am,
		"creation_timestamp":     m.Created,
		"deployment_job_id":      nil,
		"deployment_job_state":   nil,
		"description":            optStr(m.Description),
		"last_updated_timestamp": m.Updated,
		"name":                   m.Name,
		"workspace":              workspaceDefault,
	})
}

func optStr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func parseRMMeta(path string, data []byte) (*rmMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m rmMeta
	if m.Name, err = d.reqStr("name"); err != nil {
		return nil, err
	}
	if v, err := d.optInt("creation_timestamp"); err != nil {
		return nil, err
	} else if v != nil {
		m.Created = *v
	}
	if v, err := d.optInt("last_updated_timestamp"); err != nil {
		return nil, err
	} else if v != nil {
		m.Updated = *v
	}
	if s, ok, err := d.str("description"); err != nil {
		return nil, err
	} else if ok {
		m.Description = &s
	}
	return &m, nil
}

// mvMeta is a version's meta.yaml; nullable strings are pointers so that
// a rewrite keeps MLflow's nulls.
type mvMeta struct {
	Name, Stage, Status, Source         string
	Version, Created, Updated           int64
	Description, UserID, RunID, RunLink *string
	StatusMessage, Storage, ModelID     *string
}

func (m *mvMeta) encode() ([]byte, error) {
	return marshalYAML(map[string]any{
		"creation_timestamp":     m.Created,
		"current_stage":          m.Stage,
		"deployment_job_state":   nil,
		"description":            optStr(m.Description),
		"last_updated_timestamp": m.Updated,
		"model_id":               optStr(m.ModelID),
		"name":                   m.Name,
		"run_id":                 optStr(m.RunID),
		"run_link":               optStr(m.RunLink),
		"source":                 m.Source,
		"status":                 m.Status,
		"status_message":         optStr(m.StatusMessage),
		"storage_location":       optStr(m.Storage),
		"user_id":                optStr(m.UserID),
		"version":                m.Version,
		"workspace":              workspaceDefault,
	})
}

func parseMVMeta(path string, data []byte) (*mvMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m mvMeta
	if m.Name, err = d.reqStr("name"); err != nil {
		return nil, err
	}
	v, ok, err := d.int("version")
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, d.corrupt("version", "missing")
	}
	m.Version = v
	if p, err := d.optInt("creation_timestamp"); err != nil {
		return nil, err
	} else if p != nil {
		m.Created = *p
	}
	if p, err := d.optInt("last_updated_timestamp"); err != nil {
		return nil, err
	} else if p != nil {
		m.Updated = *p
	}
	m.Stage, _, err = d.str("current_stage")
	if err != nil {
		return nil, err
	}
	m.Status = store.ModelVersionReady
	if s, ok, err := d.str("status"); err != nil {
		return nil, err
	} else if ok {
		m.Status = s
	}
	if m.Source, _, err = d.str("source"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst **string
	}{{"description", &m.Description}, {"user_id", &m.UserID}, {"run_id", &m.RunID}, {"run_link", &m.RunLink},
		{"status_message", &m.StatusMessage}, {"storage_location", &m.Storage}, {"model_id", &m.ModelID}} {
		s, ok, err := d.str(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			*f.dst = &s
		}
	}
	return &m, nil
}

func deref0(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
