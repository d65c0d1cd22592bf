package data

import "strings"

// Subjects is the subject table of the original system: the index of a name
// is its position in the 64-value one-hot. Index 0 is "unspecified" and
// 52..63 are reserved (empty here).
var Subjects = [64]string{
	"unspecified",
	// 1-27: objects
	"TV", "airplane", "apple", "bed", "bike", "boat", "book", "bottle", "bowl",
	"cactus", "car", "chair", "clock", "couch", "cup", "hat", "house", "ice cream",
	"key", "lamp", "mushroom", "phone", "piano", "scissors", "train", "tree", "watch",
	// 28-45: animals
	"bear", "bee", "bird", "camel", "cat", "cow", "dog", "elephant", "fish",
	"frog", "horse", "octopus", "rabbit", "sheep", "snail", "spider", "tiger", "whale",
	// 46-48: people
	"face", "hand", "person",
	// 49-51
	"family", "abstract", "other",
}

var subjectIndex = func() map[string]int {
	m := make(map[string]int, len(Subjects))
	for i, s := range Subjects {
		if s != "" {
			m[strings.ToLower(s)] = i
		}
	}
	return m
}()

// SubjectIndex maps a subject name to its one-hot index, case-insensitively
// and ignoring surrounding spaces; unknown or empty subjects give 0.
func SubjectIndex(subject string) int {
	return subjectIndex[strings.ToLower(strings.TrimSpace(subject))]
}

// KnownSubject reports whether subject is empty or in the table.
func KnownSubject(subject string) bool {
	s := strings.ToLower(strings.TrimSpace(subject))
	if s == "" {
		return true
	}
	_, ok := subjectIndex[s]
	return ok
}
