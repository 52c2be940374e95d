package web

// routeTable is every page and form of the front. Every POST route is
// checked for the session's CSRF token (the login form for its own) and
// for Origin/Sec-Fetch-Site before its handler runs (ServeHTTP); GET
// routes change nothing but a message's Seen flag (mail.go, message).
func (s *Server) routeTable() []Route {
	get, post := "GET", "POST"
	rt := []Route{
		{Method: get, Path: "/", Access: Public, h: s.home},
		{Method: get, Path: "/static/style.css", Access: Public, h: serveStatic},
		{Method: get, Path: "/login", Access: Public, h: s.loginPage},
		{Method: post, Path: "/login", Access: Public, h: s.login},
		{Method: post, Path: "/logout", Access: User, h: s.logout},

		{Method: get, Path: "/mail", Access: User, h: s.mailbox},
		{Method: get, Path: "/msg", Access: User, h: s.message},
		{Method: get, Path: "/msg/html", Access: User, h: s.messageFrame},
		{Method: get, Path: "/msg/part", Access: User, h: s.part},
		{Method: get, Path: "/msg/raw", Access: User, h: s.raw},
		{Method: post, Path: "/msg/flags", Access: User, h: s.setFlags},
		{Method: post, Path: "/msg/move", Access: User, h: s.move},
		{Method: post, Path: "/msg/delete", Access: User, h: s.deleteMessage},
		{Method: get, Path: "/compose", Access: User, h: s.composePage},
		{Method: post, Path: "/compose", Access: User, upload: true, h: s.compose},

		{Method: get, Path: "/folders", Access: User, h: s.foldersPage},
		{Method: post, Path: "/folders/create", Access: User, h: s.folderCreate},
		{Method: post, Path: "/folders/rename", Access: User, h: s.folderRename},
		{Method: post, Path: "/folders/delete", Access: User, h: s.folderDelete},

		{Method: get, Path: "/settings", Access: User, h: s.settingsPage},
		{Method: post, Path: "/settings/password", Access: User, h: s.setPassword},
		{Method: post, Path: "/settings/forward", Access: User, h: s.setForward},
		{Method: post, Path: "/settings/vacation", Access: User, h: s.setVacation},
		{Method: post, Path: "/settings/junk", Access: User, h: s.setJunk},

		{Method: get, Path: "/admin", Access: Admin, h: s.adminHome},
		{Method: get, Path: "/admin/domains", Access: Admin, h: s.adminDomains},
		{Method: get, Path: "/admin/users", Access: Admin, h: s.adminUsers},
		{Method: get, Path: "/admin/aliases", Access: Admin, h: s.adminAliases},
		{Method: get, Path: "/admin/dns", Access: Admin, h: s.adminDNS},
		{Method: get, Path: "/admin/queue", Access: Site, h: s.adminQueue},
		{Method: get, Path: "/admin/queue/show", Access: Site, h: s.adminQueueShow},
		{Method: get, Path: "/admin/grants", Access: Site, h: s.adminGrants},
		{Method: get, Path: "/admin/log", Access: Site, h: s.adminLog},
		{Method: get, Path: "/admin/health", Access: Site, h: s.adminHealth},
	}
	for _, a := range adminActions {
		rt = append(rt, Route{Method: post, Path: a.path, Access: a.access, h: a.handle})
	}
	return rt
}
