package sqlite

// SetNameThresholds lowers the name-filter path thresholds so tests reach
// both paths with a few hundred jobs. Call it before using s.
func SetNameThresholds(s *Store, probe, few int) {
	s.nameProbe, s.fewMatchesLimit = probe, few
}
