// Command sqlparse checks SQL files with CockroachDB's own SQL parser, so a
// migration that CockroachDB cannot even read fails without a running cluster.
//
// Usage:
//
//	sqlparse [FILE ...]
//
// With no arguments, or with "-", it reads standard input. For every input it
// prints one JSON object on its own line:
//
//	{"file": "...", "statements": 3, "errors": [...], "normalized": [...]}
//
// "statements" counts the statements that parsed; each entry of "errors" holds
// the 1-based line, the statement text and the parser's message for one
// statement that did not parse; "normalized" holds every parsed statement in
// the parser's canonical form, for comparing statements across files.
//
// Exit status: 0 when everything parsed, 1 when any statement failed to
// parse, 2 when an input could not be read.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/parser"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"
	"github.com/cockroachdb/errors"
)

const stdinName = "-"

// parseError describes one statement the parser rejected.
type parseError struct {
	Line      int    `json:"line"`
	Statement string `json:"statement"`
	Error     string `json:"error"`
	Detail    string `json:"detail,omitempty"`
}

// fileReport is the JSON line printed for one input.
type fileReport struct {
	File       string       `json:"file"`
	Statements int          `json:"statements"`
	Errors     []parseError `json:"errors"`
	Normalized []string     `json:"normalized"`
}

// chunk is the text of one statement (with its leading comments) and where it
// starts in the file.
type chunk struct {
	text   string
	offset int
}

// splitStatements cuts sql at the semicolons that end statements, using the
// parser's own scanner so semicolons inside literals and comments do not count.
// When the scanner meets a lexical error the rest of the input stays one chunk,
// so the parser reports that error.
func splitStatements(sql string) []chunk {
	var chunks []chunk
	offset := 0
	for offset < len(sql) {
		rest := sql[offset:]
		n, ok := parser.SplitFirstStatement(rest)
		if !ok || n <= 0 {
			n = len(rest)
		}
		chunks = append(chunks, chunk{text: rest[:n], offset: offset})
		offset += n
	}
	return chunks
}

// skipLeadingComments returns the index of the first character of s that is
// neither whitespace nor part of a comment.
func skipLeadingComments(s string) int {
	i := 0
	for i < len(s) {
		switch {
		case strings.ContainsRune(" \t\r\n\f", rune(s[i])):
			i++
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return len(s)
			}
			i += end + 1
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return len(s)
			}
			i += end + 4
		default:
			return i
		}
	}
	return i
}

// checkSQL parses every statement of sql and reports the results under name.
func checkSQL(name, sql string) fileReport {
	report := fileReport{File: name, Errors: []parseError{}, Normalized: []string{}}
	for _, c := range splitStatements(sql) {
		stmts, err := parser.Parse(c.text)
		if err == nil {
			report.Statements += len(stmts)
			for _, stmt := range stmts {
				report.Normalized = append(report.Normalized, tree.AsString(stmt.AST))
			}
			continue
		}
		start := skipLeadingComments(c.text)
		report.Errors = append(report.Errors, parseError{
			Line:      1 + strings.Count(sql[:c.offset+start], "\n"),
			Statement: strings.TrimSpace(c.text[start:]),
			Error:     err.Error(),
			Detail:    strings.Join(errors.GetAllDetails(err), "\n"),
		})
	}
	return report
}

func readInput(name string) (string, error) {
	var data []byte
	var err error
	if name == stdinName {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	return string(data), err
}

func main() {
	names := os.Args[1:]
	if len(names) == 0 {
		names = []string{stdinName}
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)

	status := 0
	for _, name := range names {
		sql, err := readInput(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sqlparse: cannot read %s: %v\n", name, err)
			status = 2
			continue
		}
		report := checkSQL(name, sql)
		if err := encoder.Encode(report); err != nil {
			fmt.Fprintf(os.Stderr, "sqlparse: cannot write report for %s: %v\n", name, err)
			status = 2
			continue
		}
		if len(report.Errors) > 0 && status == 0 {
			status = 1
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "sqlparse: cannot write output: %v\n", err)
		status = 2
	}
	os.Exit(status)
}
