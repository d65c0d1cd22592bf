package jobs

import "github.com/sagetrain/sagetrain/internal/backend"

// Backend is the service's backend of that name, nil when not configured
// (the sweep service reaches the SageMaker tuner through it).
func (s *Service) Backend(name string) backend.Backend { return s.backends[name] }
