package notify

// Notice is a plain message to one person that is not a page: a console
// sign-in link (issue 17). Its subject and body are sent as they are, with
// no incident, reply instructions or notification footer.
type Notice struct {
	Subject string
	Body    string
}
