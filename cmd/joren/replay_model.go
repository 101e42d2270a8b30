package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"joren/cluster/month"
	"joren/vocab"
)

// visitsModel peeks at the first visit of r for the model of its
// descriptors, and returns the installed model it names (the zero Model
// if it names none: the store then takes the installed dlib model, and a
// visit of another model is refused with its line) with a reader that
// still reads every visit. Replay's store is made for the visits' model:
// `joren watch` describes faces with YuNet's five-point chips by default,
// another model than dlib's own chips.
func visitsModel(g *globals, r io.Reader) (vocab.Model, io.Reader, error) {
	// A line longer than a visit may be is left whole to the reader,
	// which says so.
	br := bufio.NewReaderSize(r, month.MaxLineBytes+1)
	line, err := br.ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return vocab.Model{}, nil, err
	}
	first := bytes.Clone(line)
	rest := io.MultiReader(bytes.NewReader(first), br)
	var v struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(first, &v) != nil || v.Model == "" {
		return vocab.Model{}, rest, nil // the reader says what is wrong, with the line
	}
	if m, ok := dlibVariant(installedModel(g, g.modelDir), v.Model); ok {
		return m, rest, nil
	}
	return vocab.Model{}, rest, nil
}
