package webmbox

import (
	"errors"
	"strconv"

	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

// The folder operations (ops.go: folders, folder.create, folder.rename,
// folder.delete) on internal/mailstore's Maildir++ folders.

func init() {
	register(OpFolders, (*Session).folders)
	register(OpFolderCreate, (*Session).folderCreate)
	register(OpFolderRename, (*Session).folderRename)
	register(OpFolderDelete, (*Session).folderDelete)
}

func (s *Session) folders(req *webrpc.Request) *webrpc.Response {
	fs, err := s.Store.Folders()
	if err != nil {
		return folderError(err)
	}
	resp := &webrpc.Response{}
	for _, f := range fs {
		resp.Rows = append(resp.Rows, []string{f.Name, f.Role, strconv.Itoa(f.Total), strconv.Itoa(f.Unread)})
	}
	return resp
}

func (s *Session) folderCreate(req *webrpc.Request) *webrpc.Response {
	name := req.Arg(0)
	if err := s.Store.CreateFolder(name); err != nil {
		return folderError(err)
	}
	return &webrpc.Response{Text: "folder " + name + " created"}
}

func (s *Session) folderRename(req *webrpc.Request) *webrpc.Response {
	name, to := req.Arg(0), req.Arg(1)
	if err := s.Store.RenameFolder(name, to); err != nil {
		return folderError(err)
	}
	return &webrpc.Response{Text: "folder " + name + " renamed to " + to}
}

func (s *Session) folderDelete(req *webrpc.Request) *webrpc.Response {
	name := req.Arg(0)
	if err := s.Store.DeleteFolder(name); err != nil {
		return folderError(err)
	}
	return &webrpc.Response{Text: "folder " + name + " deleted"}
}

// folderError answers the folder refusals storeError does not know.
func folderError(err error) *webrpc.Response {
	switch {
	case errors.Is(err, mailstore.ErrSpecial):
		return webrpc.Errorf(webrpc.Forbidden, "%v", err)
	case errors.Is(err, mailstore.ErrHasChildren):
		return webrpc.Errorf(webrpc.Conflict, "%v", err)
	}
	return storeError(err)
}
