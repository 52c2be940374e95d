package web

// routeTable is every page and form of the front. Every POST route is
// checked for the session's CSRF token (the login form for its own) and
// for Origin/Sec-Fetch-Site before its handler runs (ServeHTTP); GET
// routes change nothing but a message's Seen flag (mail.go, message).
func (s *Server) routeTable() []Route {
	get, post := "GET", "POST"
	rt := []Route{
		{get, "/", Public, s.home},
		{get, "/static/style.css", Public, serveStatic},
		{get, "/login", Public, s.loginPage},
		{post, "/login", Public, s.login},
		{post, "/logout", User, s.logout},

		{get, "/mail", User, s.mailbox},
		{get, "/msg", User, s.message},
		{get, "/msg/html", User, s.messageFrame},
		{get, "/msg/part", User, s.part},
		{get, "/msg/raw", User, s.raw},
		{post, "/msg/flags", User, s.setFlags},
		{post, "/msg/move", User, s.move},
		{post, "/msg/delete", User, s.deleteMessage},
		{get, "/compose", User, s.composePage},
		{post, "/compose", User, s.compose},

		{get, "/folders", User, s.foldersPage},
		{post, "/folders/create", User, s.folderCreate},
		{post, "/folders/rename", User, s.folderRename},
		{post, "/folders/delete", User, s.folderDelete},

		{get, "/settings", User, s.settingsPage},
		{post, "/settings/password", User, s.setPassword},
		{post, "/settings/forward", User, s.setForward},
		{post, "/settings/vacation", User, s.setVacation},
		{post, "/settings/junk", User, s.setJunk},

		{get, "/admin", Admin, s.adminHome},
		{get, "/admin/domains", Admin, s.adminDomains},
		{get, "/admin/users", Admin, s.adminUsers},
		{get, "/admin/aliases", Admin, s.adminAliases},
		{get, "/admin/dns", Admin, s.adminDNS},
		{get, "/admin/queue", Site, s.adminQueue},
		{get, "/admin/queue/show", Site, s.adminQueueShow},
		{get, "/admin/grants", Site, s.adminGrants},
		{get, "/admin/log", Site, s.adminLog},
		{get, "/admin/health", Site, s.adminHealth},
	}
	for _, a := range adminActions {
		rt = append(rt, Route{post, a.path, a.access, a.handle})
	}
	return rt
}
