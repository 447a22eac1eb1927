package store

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
)

// Word lists for generated run names. mlrun keeps its own lists; the shape
// of a name (adjective-noun-NNN, at most 20 characters) follows MLflow.
var (
	nameAdjectives = []string{
		"able", "agile", "amber", "bold", "brave", "bright", "calm", "clever",
		"crisp", "daring", "eager", "fair", "fast", "fierce", "gentle", "glad",
		"grand", "happy", "honest", "keen", "kind", "lively", "lucky", "merry",
		"mighty", "neat", "noble", "proud", "quick", "quiet", "rare", "sharp",
		"shy", "silent", "smart", "steady", "sunny", "swift", "tidy", "vivid",
		"warm", "wise", "witty", "young", "zesty",
	}
	nameNouns = []string{
		"ant", "bat", "bear", "bee", "bird", "carp", "cat", "colt", "crab",
		"crow", "deer", "dog", "dove", "duck", "eel", "elk", "finch", "fox",
		"frog", "goat", "hare", "hawk", "hen", "jay", "lark", "lion", "lynx",
		"mole", "moth", "mule", "newt", "owl", "ox", "panda", "pig", "ram",
		"seal", "shrew", "slug", "snail", "stork", "swan", "toad", "trout",
		"wasp", "whale", "wolf", "wren", "yak",
	}
)

// maxRunNameGenLength is the longest generated run name, as in MLflow.
const maxRunNameGenLength = 20

// RandomRunName returns a generated run name such as "bold-fox-123": an
// adjective, a noun and a number from 0 to 1000, at most 20 characters.
func RandomRunName() string {
	var name string
	for range 10 {
		name = fmt.Sprintf("%s-%s-%d",
			nameAdjectives[randIntn(len(nameAdjectives))],
			nameNouns[randIntn(len(nameNouns))],
			randIntn(1001))
		if len(name) <= maxRunNameGenLength {
			return name
		}
	}
	return name[:maxRunNameGenLength]
}

// RunNameTag is the tag that holds a run's name.
const RunNameTag = "mlflow.runName"

// ParentRunTag is the tag that names a nested run's parent run.
const ParentRunTag = "mlflow.parentRunId"

// DatasetContextTag is the dataset input tag that says what the run used
// the dataset for, e.g. "training".
const DatasetContextTag = "mlflow.data.context"

// RunNameAndTags validates req's strings (the user id, the tags) and
// returns the name and tags a new run gets, as MLflow's create_run decides
// them: RunName and an mlflow.runName tag must agree if both are given; the
// name is either of them, else a random adjective-animal-NNN name, and must
// be a valid run name; without the tag, one holding the name is appended.
// req.Tags is not modified.
func (req CreateRunRequest) RunNameAndTags() (string, []Tag, error) {
	if err := ValidateUserID(req.UserID); err != nil {
		return "", nil, err
	}
	if err := ValidateTags(req.Tags); err != nil {
		return "", nil, err
	}
	tags := slices.Clone(req.Tags)
	tagName := ""
	for _, t := range tags {
		if t.Key == RunNameTag {
			tagName = t.Value
		}
	}
	if req.RunName != "" && tagName != "" && req.RunName != tagName {
		return "", nil, Invalidf("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", req.RunName, tagName)
	}
	name := cmp.Or(req.RunName, tagName)
	if name == "" {
		name = RandomRunName()
	}
	if err := ValidateRunName(name); err != nil {
		return "", nil, err
	}
	if tagName == "" {
		tags = append(tags, Tag{Key: RunNameTag, Value: name})
	}
	return name, tags, nil
}

// randIntn returns a uniform random int in [0, n).
func randIntn(n int) int {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}
