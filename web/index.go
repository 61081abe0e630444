package web

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-project/ferry/vfs"
)

// wantsHTML reports whether a folder's listing is asked for as HTML: the
// Accept header names text/html (browsers, rclone's http backend with
// --http-headers) before application/json.
func wantsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	h := strings.Index(a, "text/html")
	j := strings.Index(a, "application/json")
	return h >= 0 && (j < 0 || h < j)
}

// htmlIndex sends a folder's listing as a plain HTML index, the form
// wget -r and rclone's http backend read: one link per entry, folders
// ending in "/", relative to the folder's own URL (which must end in
// "/"), with the size and time after each link as web servers print
// them. It is written as the folder is read, a batch at a time.
func (s *Server) htmlIndex(rq *request, fsys vfs.FS, p string) {
	if !strings.HasSuffix(rq.r.URL.Path, "/") {
		// Relative links resolve against the folder only with its slash.
		http.Redirect(rq.w, rq.r, rq.r.URL.EscapedPath()+"/", http.StatusMovedPermanently)
		return
	}
	ls, err := fsys.ReadDir(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	defer ls.Close()
	infos, err := ls.Next(listBatch)
	if err != nil && err != io.EOF {
		rq.fsError(p, err)
		return
	}
	h := rq.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(http.StatusOK)
	if rq.r.Method == http.MethodHead {
		return
	}
	title := html.EscapeString("Index of " + p)
	io.WriteString(rq.w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"+title+"</title></head>\n<body><h1>"+title+"</h1>\n<pre>\n")
	if p != "/" {
		io.WriteString(rq.w, "<a href=\"../\">../</a>\n")
	}
	for err == nil {
		for _, fi := range infos {
			e := s.entry(fsys, p, fi)
			name := e.Name
			if e.Type == "dir" {
				name += "/"
			}
			size := "-"
			if e.Type == "file" {
				size = strconv.FormatInt(e.Size, 10)
			}
			io.WriteString(rq.w, "<a href=\"./"+html.EscapeString(url.PathEscape(e.Name))+
				map[bool]string{true: "/", false: ""}[e.Type == "dir"]+"\">"+html.EscapeString(name)+"</a> "+
				e.Modified.Format("2006-01-02 15:04")+" "+size+"\n")
		}
		infos, err = ls.Next(listBatch)
	}
	if err != io.EOF {
		rq.s.log.Error("folder listing cut short", "user", rq.user.Name, "path", p, "err", err)
		panic(http.ErrAbortHandler)
	}
	io.WriteString(rq.w, "</pre></body></html>\n")
}

// davIndex answers a GET or HEAD of a folder under /dav/ with the HTML
// index (webdav itself answers 405), so that the share can be read by
// wget -r and rclone's http backend too. It reports whether it answered.
func (s *Server) davIndex(rq *request) bool {
	if rq.r.Method != http.MethodGet && rq.r.Method != http.MethodHead {
		return false
	}
	fsys := rq.conn().FS()
	p := vpath(strings.TrimPrefix(rq.r.URL.Path, davPrefix))
	fi, err := fsys.Stat(p)
	if err != nil || !fi.IsDir() {
		return false // webdav answers
	}
	s.htmlIndex(rq, fsys, p)
	return true
}
