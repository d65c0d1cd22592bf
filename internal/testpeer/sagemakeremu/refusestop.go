package sagemakeremu

// RefuseStop makes StopTrainingJob of the named job fail with a
// ValidationException carrying msg until AllowStop, as SageMaker does for a
// job it will not stop (and moto for any job).
func (s *Server) RefuseStop(name, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse == nil {
		s.refuse = map[string]string{}
	}
	s.refuse[name] = msg
}

// AllowStop undoes RefuseStop.
func (s *Server) AllowStop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refuse, name)
}

func (s *Server) refusal(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg, ok := s.refuse[name]; ok {
		return validation("%s", msg)
	}
	return nil
}
