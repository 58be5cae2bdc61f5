package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// The read commands print in the format -o names (docs/operations.md,
// "Output formats", has the shapes):
//
//   - table: for people; alert text escaped (escapeCell), times in the
//     display zone (--utc, --local), severities in one case.
//   - json: one JSON document: an array of alerts (list), an object
//     (status, ping, count), an array of objects (backends).
//   - ndjson: one JSON value a line: an alert (list, watch), an object.
//   - csv: RFC 4180 (encoding/csv), a header row first; an object is
//     flattened into field,value rows with dotted names (tiers.0.name).
//
// Alerts in json and ndjson are the stored members and values, compacted;
// in table and csv they are shown as the table shows them.
const (
	formatTable  = "table"
	formatJSON   = "json"
	formatNDJSON = "ndjson"
	formatCSV    = "csv"
	// formatJSONLines is watch's other name for ndjson.
	formatJSONLines = "json-lines"
)

// outputFlag is -o/--output.
type outputFlag struct {
	format  string
	allowed []string
}

// addOutputFlag gives cmd -o/--output with the formats it prints (the
// first is the default), completed by the shells.
func addOutputFlag(cmd *cobra.Command, formats ...string) *outputFlag {
	o := &outputFlag{allowed: formats}
	cmd.Flags().StringVarP(&o.format, "output", "o", formats[0], "print as "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(formats, false)) // only fails for a flag registered twice
	return o
}

// check refuses a format the command does not print, and normalises
// json-lines to ndjson.
func (o *outputFlag) check() error {
	f := strings.ToLower(o.format)
	if !slices.Contains(o.allowed, f) {
		return usagef("-o %s: want %s", shownValue(o.format), strings.Join(o.allowed, ", "))
	}
	if f == formatJSONLines {
		f = formatNDJSON
	}
	o.format = f
	return nil
}

// is reports whether the format is f.
func (o *outputFlag) is(f string) bool { return o.format == f }

// writeJSON writes v as one JSON document, indented (json) or on one line
// (ndjson), newline-ended. HTML characters are not escaped: the output is
// read by people and by jq, not put in a page.
func writeJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// writeCSV writes rows, the first being the header, as RFC 4180 CSV.
func writeCSV(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("writing csv: %w", err)
	}
	return nil
}

// writeValue prints v (a report object) in format f: json, ndjson, or csv
// as field,value rows (flattenJSON); the table is the caller's.
func writeValue(w io.Writer, f string, v any) error {
	switch f {
	case formatJSON, formatNDJSON:
		return writeJSON(w, v, f == formatJSON)
	case formatCSV:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		rows, err := flattenJSON(b)
		if err != nil {
			return err
		}
		return writeCSV(w, append([][]string{{"field", "value"}}, rows...))
	}
	return fmt.Errorf("format %s has no generic writer", f)
}

// flattenJSON turns a JSON document into field,value rows in document
// order: nested names joined by dots, array elements by index, strings
// unquoted, other scalars as written, empty objects and arrays left out.
func flattenJSON(b []byte) ([][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var rows [][]string
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			i := 0
			for dec.More() {
				name := strconv.Itoa(i)
				if t == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					name = k.(string)
				}
				if path != "" {
					name = path + "." + name
				}
				if err := walk(name); err != nil {
					return err
				}
				i++
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case string:
			rows = append(rows, []string{path, t})
		case json.Number:
			rows = append(rows, []string{path, t.String()})
		case bool:
			rows = append(rows, []string{path, strconv.FormatBool(t)})
		case nil:
			rows = append(rows, []string{path, ""})
		}
		return nil
	}
	return rows, walk("")
}
