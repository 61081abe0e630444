package client

// List lists the folder p; when p is a file it returns that one file, as
// ls does. A p that is neither gives List's error.
func List(c Conn, p string) ([]Entry, error) {
	es, err := c.List(p)
	if err == nil {
		return es, nil
	}
	e, serr := c.Stat(p)
	if serr != nil || e.Dir {
		return nil, err
	}
	return []Entry{e}, nil
}

// Remove deletes the file or the empty folder p, whichever it is.
func Remove(c Conn, p string) error {
	e, err := c.Stat(p)
	if err != nil {
		return err
	}
	if e.Dir {
		return c.RemoveDir(p)
	}
	return c.Remove(p)
}
