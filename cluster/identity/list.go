package identity

import (
	"context"

	"joren/cluster/store"
)

// Len is the number of identities the service matches against.
func (s *Service) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idx.len()
}

// Visitors lists the ids of every identity in the store (for forgetting
// by pseudonym: the caller hashes each to find the one asked for).
func (s *Service) Visitors(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	err := s.st.View(func(tx *store.Tx) error {
		return tx.ForEachIdentity(func(rec store.Identity) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			ids = append(ids, rec.ID)
			return nil
		})
	})
	return ids, err
}
