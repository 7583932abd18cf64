package partitions

import "slices"

// checkHash verifies that the hash partitions of each table cover every
// remainder. Moduli may differ between partitions (PostgreSQL only requires
// that each divides the next larger one), so coverage is checked against the
// largest modulus M: remainder r of M is covered by a partition (m, k) when
// r mod m == k. pg_partman has no hash support at all (its #483, #346).
func checkHash(parts []Partition) []HashCheck {
	byTable := map[string][]Partition{}
	var order []string
	for _, p := range parts {
		if p.Strategy != "hash" {
			continue
		}
		if _, ok := byTable[p.Table]; !ok {
			order = append(order, p.Table)
		}
		byTable[p.Table] = append(byTable[p.Table], p)
	}
	out := []HashCheck{}
	for _, table := range order {
		ps := byTable[table]
		hc := HashCheck{Table: table, Partitions: len(ps), Missing: []int{}}
		for _, p := range ps {
			hc.Modulus = max(hc.Modulus, p.Modulus)
		}
		for r := 0; r < hc.Modulus; r++ {
			if !slices.ContainsFunc(ps, func(p Partition) bool { return p.Modulus > 0 && r%p.Modulus == p.Remainder }) {
				hc.Missing = append(hc.Missing, r)
			}
		}
		hc.OK = len(hc.Missing) == 0
		out = append(out, hc)
	}
	return out
}
