package webmbox

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

// The list operation (ops.go): a page of a folder's messages from
// internal/mailstore's index.

// List bounds: a page of at most maxPage rows (ops.go), a query of at
// most maxQuery bytes and maxWords words (each word may cost a read of
// every message's body).
const (
	defaultPage = 50
	maxPage     = 500
	maxQuery    = 1000
	maxWords    = 20
)

func init() {
	register(OpList, (*Session).list)
}

func (s *Session) list(req *webrpc.Request) *webrpc.Response {
	opt := mailstore.ListOptions{Limit: defaultPage, Query: req.Arg(5)}
	switch sk := req.Arg(1); sk {
	case "", mailstore.SortDate, mailstore.SortFrom, mailstore.SortSubject, mailstore.SortSize:
		opt.Sort = sk
	default:
		return webrpc.Errorf(webrpc.Invalid, "sort %q: want date, from, subject or size", sk)
	}
	switch o := req.Arg(2); o {
	case "", "desc":
	case "asc":
		opt.Asc = true
	default:
		return webrpc.Errorf(webrpc.Invalid, "order %q: want asc or desc", o)
	}
	if a := req.Arg(3); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return webrpc.Errorf(webrpc.Invalid, "offset %q: want a number from 0", a)
		}
		opt.Offset = n
	}
	if a := req.Arg(4); a != "" && a != "0" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 || n > maxPage {
			return webrpc.Errorf(webrpc.Invalid, "limit %q: want a number from 1 to %d", a, maxPage)
		}
		opt.Limit = n
	}
	if len(opt.Query) > maxQuery || !utf8.ValidString(opt.Query) || len(strings.Fields(opt.Query)) > maxWords {
		return webrpc.Errorf(webrpc.Invalid, "search: at most %d words, %d bytes of UTF-8", maxWords, maxQuery)
	}
	total, page, err := s.Store.List(req.Arg(0), opt)
	if err != nil {
		return storeError(err)
	}
	resp := &webrpc.Response{Text: strconv.Itoa(total), Rows: make([][]string, 0, len(page))}
	for _, e := range page {
		att := "0"
		if e.Attach {
			att = "1"
		}
		resp.Rows = append(resp.Rows, []string{e.ID, e.Flags(), strconv.FormatInt(e.Date, 10), e.From, e.Subject,
			strconv.FormatInt(e.Size, 10), att})
	}
	return resp
}
