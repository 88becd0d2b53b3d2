// gowork: fixed-work Go program with three workloads (-mode mix|tree|text), profiled with
// runtime/pprof (-cpuprofile FILE; -allocprofile FILE writes the "allocs" heap profile, whose
// default sample type is alloc_space, when the work is done). The variant is set at link time:
// -ldflags "-X main.variant=regress" makes one function per mode do 2x its work,
// "-X main.variant=speedup" makes another one faster; nothing else changes.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
)

var variant = "base"

var sink uint64

func factor(v string, when string, f int) int {
	if variant == when {
		return f
	}
	return 1
}

//go:noinline
func hashMix(n int, seed uint64) uint64 {
	h := 0x9e3779b97f4a7c15 ^ seed
	for i := 0; i < n; i++ {
		h ^= uint64(i)
		h *= 0xff51afd7ed558ccd
		h ^= h >> 33
	}
	return h
}

var crcTab [256]uint32

//go:noinline
func crcBlock(buf []byte, seed uint32, rounds int) uint32 {
	c := ^seed
	for r := 0; r < rounds; r++ {
		for _, b := range buf {
			c = crcTab[byte(c)^b] ^ (c >> 8)
		}
	}
	return ^c
}

//go:noinline
func sortInts(v []int, seed uint64) int {
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = int(seed >> 33)
	}
	sort.Ints(v)
	return v[len(v)/2]
}

//go:noinline
func countWords(text []byte) int {
	words := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' && text[i-1] != ' ' {
			words++
		}
	}
	return words
}

//go:noinline
func mapCount(n int, seed int) int {
	m := make(map[int]int)
	for i := 0; i < n; i++ {
		m[(i*7919+seed)%5003]++
	}
	return len(m)
}

func runMix(rounds int) {
	for i := range crcTab {
		c := uint32(i)
		for k := 0; k < 8; k++ {
			if c&1 == 1 {
				c = 0xedb88320 ^ (c >> 1)
			} else {
				c >>= 1
			}
		}
		crcTab[i] = c
	}
	buf := make([]byte, 1<<16)
	text := make([]byte, 1<<16)
	for i := range buf {
		buf[i] = byte(i * 31)
		if i%7 == 0 {
			text[i] = ' '
		} else {
			text[i] = 'a'
		}
	}
	v := make([]int, 20000)
	for r := 0; r < rounds; r++ {
		sink += hashMix(4000000/factor(variant, "speedup", 2), uint64(r))
		for k := 0; k < 10; k++ {
			sink += uint64(crcBlock(buf, uint32(r*10+k), factor(variant, "regress", 2)))
		}
		sink += uint64(sortInts(v, uint64(r)))
		for k := 0; k < 40; k++ {
			sink += uint64(countWords(text))
		}
		sink += uint64(mapCount(150000, r))
	}
}

type node struct {
	l, r *node
	v    uint64
}

//go:noinline
func buildTree(depth int, v uint64) *node {
	n := &node{v: v*2654435761 + uint64(depth)}
	if depth > 0 {
		n.l = buildTree(depth-1, n.v^1)
		n.r = buildTree(depth-1, n.v^2)
	}
	return n
}

//go:noinline
func walkTree(n *node, h uint64, rounds int) uint64 {
	if n == nil {
		return h
	}
	for r := 0; r < rounds; r++ {
		for k := uint64(0); k < 24; k++ {
			h ^= n.v + k
			h *= 0x100000001b3
		}
	}
	h = walkTree(n.l, h, rounds)
	return walkTree(n.r, h, rounds)
}

//go:noinline
func fib(n int) uint64 {
	if n < 2 {
		return uint64(n)
	}
	return fib(n-1) + fib(n-2)
}

func runTree(rounds int) {
	v := make([]int, 15000)
	for r := 0; r < rounds; r++ {
		t := buildTree(15, uint64(r))
		sink += walkTree(t, uint64(r), factor(variant, "regress", 2))
		sink += fib(29 - factor(variant, "speedup", 3) + 1 + r&1)
		sink += uint64(sortInts(v, uint64(r)))
	}
}

//go:noinline
func renderRows(rows []uint64) string {
	var b strings.Builder
	for i, r := range rows {
		fmt.Fprintf(&b, "%6d | %016x | %.3f\n", i, r, float64(r)/1e12)
	}
	return b.String()
}

// parseFields sums the hex field of every row, parsing by hand (its own self time).
//
//go:noinline
func parseFields(text string, passes int) uint64 {
	var acc uint64
	for p := 0; p < passes; p++ {
		field, x := 0, uint64(0)
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '|':
				field++
			case c == '\n':
				acc ^= x + uint64(p)
				field, x = 0, 0
			case field == 1 && c >= '0' && c <= '9':
				x = x<<4 | uint64(c-'0')
			case field == 1 && c >= 'a' && c <= 'f':
				x = x<<4 | uint64(c-'a'+10)
			}
		}
	}
	return acc
}

//go:noinline
func upperWords(text string, div int) int {
	words := strings.Fields(text[:len(text)/div])
	n := 0
	for _, w := range words {
		n += len(strings.ToUpper(w))
	}
	return n
}

func runText(rounds int) {
	rows := make([]uint64, 4000)
	x := uint64(88172645463325252)
	for r := 0; r < rounds; r++ {
		for i := range rows {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			rows[i] = x
		}
		text := renderRows(rows)
		sink += parseFields(text, factor(variant, "regress", 2))
		sink += uint64(upperWords(text, factor(variant, "speedup", 2)))
	}
}

func main() {
	mode := flag.String("mode", "mix", "mix, tree or text")
	scale := flag.Float64("scale", 1.0, "work multiplier")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	allocprofile := flag.String("allocprofile", "", "write the allocs (heap) profile here at the end")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	switch *mode {
	case "mix":
		runMix(int(120 * *scale))
	case "tree":
		runTree(int(150 * *scale))
	case "text":
		runText(int(400 * *scale))
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
	if *allocprofile != "" {
		writeAllocs(*allocprofile)
	}
	fmt.Println("gowork", *mode, variant, sink)
}

func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
}
