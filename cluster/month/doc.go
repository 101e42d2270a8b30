// Package month is how the identity store is measured: the file format of
// a sequence of visits (what `joren replay` reads), a generator of
// synthetic months from labelled descriptors, and the scorer of the
// decisions made on such a month.
//
// A synthetic month follows issue 3: about a third of the people are
// regulars who come on 4 to 6 distinct days, the others come once or
// twice; each visit carries 1 to 3 of that person's descriptors and every
// descriptor is used at most once, so the store never sees the same vector
// twice. Times fall in the shop's opening hours. Generation is seeded, so a
// month is reproducible from its seed and its source file.
//
// The scorer reports the "regular" flag's precision, recall and F1 against
// the truth (the person has now come on at least N distinct days within the
// window), the BCubed F1 of the visitor ids against the people, and their
// harmonic mean: merging everyone makes the first good and the second
// useless, splitting everyone the reverse, so only the harmonic mean
// rewards a store that is right about both.
package month
