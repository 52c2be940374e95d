package webmbox

// The mailbox session's operations: the contract between goqmail-web (the
// front, internal/web) and this session. Arguments are positional
// (webrpc.Request.Args); missing trailing arguments read as "". Rows are
// webrpc.Response.Rows; "tagged rows" start with a tag naming the row, so
// that a new tag can be added without breaking the front. Folder names and
// message ids are as internal/mailstore defines them ("INBOX", "Sent",
// "Archive.2026"; the file name before ":2,"). Booleans are "0"/"1";
// times are Unix seconds in decimal. Every argument is hostile: the front
// passes on what the browser sent.
//
// A failure is a Response with Status Invalid (bad argument), NotFound,
// Conflict (exists already), Forbidden or Failed and a Text for the user.
const (
	// hello → rows [[login, address, kind ("virtual"|"system"), quota_used_bytes, quota_limit_bytes (0 = none)]]
	OpHello = "hello"

	// folders → one row per folder, INBOX first, then by name:
	// [name, role, total, unread]; role is "inbox", "drafts", "sent",
	// "junk", "trash" or "" (Dovecot's special-use names: Drafts, Sent,
	// Junk, Trash are created on first use).
	OpFolders = "folders"
	// folder.create [name]; folder.rename [name, newname]; folder.delete
	// [name] (its messages are deleted; INBOX and the special folders
	// cannot be renamed or deleted).
	OpFolderCreate = "folder.create"
	OpFolderRename = "folder.rename"
	OpFolderDelete = "folder.delete"

	// list [folder, sort, order, offset, limit, query] → Text is the
	// number of messages that match (decimal); rows, one per message of
	// the page: [id, flags, date, from, subject, size, attachments (0|1)].
	// sort: "date" (default), "from", "subject", "size"; order: "desc"
	// (default) or "asc"; limit at most 500 (default 50); query: words
	// that must all appear in the From, To, Cc or Subject header or the
	// text of the body (case-insensitive); "" lists all.
	OpList = "list"

	// message [folder, id, images (1 = load remote images)] → tagged rows:
	//   ["from", v] ["to", v] ["cc", v] ["replyto", v] ["date", unix] ["subject", v]
	//   ["messageid", v] ["flags", v]
	//   ["text", plain text body]               (at most one; text/plain or derived from HTML)
	//   ["html", sanitized HTML document]       (at most one; safe to show in a sandboxed
	//                                           frame with the front's CSP; cid: images point at
	//                                           "part:<partid>" URLs the front rewrites)
	//   ["remoteimages", "1"]                   (the HTML had remote images and they were blocked)
	//   ["truncated", "1"]                      (a bound was hit: what is shown is not all of it)
	//   ["att", partid, content type, file name, size, inline (0|1), content id]
	//   ["header", name, value]                 (every header, decoded, for "show all headers")
	// Reading a message sets its Seen flag. The html document carries its
	// own CSP <meta> (mimeview.FrameCSP); text and html are each at most
	// 900 KiB (one webrpc frame).
	OpMessage = "message"
	// part [folder, id, partid] → Blob: the part's decoded bytes; rows
	// [["type", content type], ["name", file name]]. The type of a text
	// part carries its charset ("text/plain; charset=iso-8859-1"). The
	// front serves it as an attachment (Content-Disposition: attachment)
	// unless it is a raster image (png, gif, jpeg, webp; never SVG) shown
	// inline; the name may be "".
	OpPart = "part"
	// raw [folder, id] → Blob: the message file as stored.
	OpRaw = "raw"

	// flags [folder, id, change]: change is "+" or "-" followed by flag
	// letters: S seen, R answered, F flagged, T deleted (Maildir's; D
	// draft is the session's own).
	OpFlags = "flags"
	// move [folder, id, tofolder] → rows [[newid]]
	OpMove = "move"
	// delete [folder, id]: moves to Trash; in Trash, removes the file.
	OpDelete = "delete"

	// compose [mode, folder, id]: mode "new" (no folder/id), "reply",
	// "replyall", "forward", "draft" (reopen a draft) → tagged rows of the
	// prefilled form: ["from", v] ["to", v] ["cc", v] ["bcc", v] ["subject", v]
	// ["body", v] ["inreplyto", v] ["references", v]
	// ["att", partid, content type, file name, size] (forward and draft:
	// the original's attachments, sent again unless removed)
	// ["fromchoice", address] (one per address the user may send from).
	OpCompose = "compose"
	// send [from, to, cc, bcc, subject, body, inreplyto, references,
	// draftid, origfolder, origid, mode, keepatts] + Files (new
	// attachments): builds the MIME message, submits it through the queue
	// (run/submit.sock) as the user (from must be one of the user's
	// addresses), stores a copy in Sent, removes the draft draftid, and
	// for a reply sets R on origfolder/origid. keepatts is a comma list
	// of the original's partids to attach again (forward, draft); partids
	// are IMAP section numbers (RFC 3501 6.4.5: "1", "2", "2.1"; a
	// message that is not multipart is "1"), as the message op's. To,
	// Cc, Bcc: addresses separated by commas, display names allowed.
	// Limits as for SMTP: control/databytes and control/maxrcpt (Invalid
	// beyond them). → Text says to how many recipients it went.
	OpSend = "send"
	// draft [same as send] → stores the message in Drafts (flags D S),
	// replacing draftid → rows [[newid]]. Unfinished addresses are kept
	// as typed, and Bcc is kept (a draft is not sent).
	OpDraft = "draft"

	// settings → tagged rows:
	//   ["forward", comma-separated addresses] ["keepcopy", 0|1]
	//   ["vacation", 0|1] ["vacsubject", v] ["vacbody", v] ["vacdays", n]
	//   ["vacfrom", unix or ""] ["vacuntil", unix or ""]
	//   ["junk", "folder"|"inbox"]   (where mail marked as spam goes)
	//   ["quota", used bytes, limit bytes, used messages, limit messages]
	OpSettings = "settings"
	// settings.forward [addresses, keepcopy]
	OpSetForward = "settings.forward"
	// settings.vacation [on, subject, body, days, from, until]
	OpSetVacation = "settings.vacation"
	// settings.junk ["folder"|"inbox"]
	OpSetJunk = "settings.junk"
)
