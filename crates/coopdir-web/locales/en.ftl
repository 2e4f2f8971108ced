# coopdir's interface text, English. Message ids are shared with fr.ftl (a test keeps
# the two in step). Arguments: $n a number, $name a text.

skip-to-content = Skip to content
nav-main = Main
nav-search = Find people
nav-coops = Co-ops
nav-projects = Projects
nav-skills = Skills
nav-insights = Skills insight
nav-account = Your account
nav-admin = Server administration
login = Log in
logout = Log out
language = Language
language-switch = Change
also-as = This page as data:
footer-about = coopdir: a federated directory of co-operatives, their people, skills and projects.
back-home = Back to the home page
search = Search
none-yet = Nothing here yet.
see-all = See everyone
page = Page
pages = Pages
page-prev = Previous
page-next = Next
any = Any
required = (required)
save = Save
cancel = Cancel
accept = Accept
reject = Reject
revoke = Revoke
actions = Actions

home-title = Find collaborators
home-heading = Find people to work with across the co-ops
home-intro = Search by skill: a broad skill also finds people with narrower ones.
home-open-projects = Open projects
home-recent-people = Recently updated profiles

people-count = { $n ->
    [one] { $n } person
   *[other] { $n } people
}
coops-count = { $n ->
    [one] { $n } co-op
   *[other] { $n } co-ops
}
projects-count = { $n ->
    [one] { $n } project
   *[other] { $n } projects
}
skills-count = { $n ->
    [one] { $n } skill
   *[other] { $n } skills
}
results-count = { $n ->
    [0] Nobody matches.
    [one] { $n } person matches.
   *[other] { $n } people match.
}
hours-count = { $n ->
    [one] { $n } hour a week
   *[other] { $n } hours a week
}

search-title = Find people
search-skill = Skill
search-skills = Skills
search-add-skill = Add a skill
search-skill-placeholder = e.g. Python, accessibility, DevOps
search-button = Search
search-match = Match
search-match-all = all of these skills
search-match-any = any of these skills
search-level = At least at level
search-available = Available
search-available-now = now
search-available-30 = within 30 days
search-available-90 = within 90 days
search-min-hours = At least this many hours a week
search-place = Place
search-text = Words in the profile
search-did-you-mean = Did you mean:
facet-skill = Skills
facet-coop = Co-ops
facet-place = Places
facet-availability = Availability
matched-skills = Matched skills
matched-through = through { $name }
home-server = Home server
this-server = this server

availability = Availability
availability-available = Available
availability-partly = Partly available
availability-unavailable = Not available
availability-unknown = Availability not given
available-from = from { $name }
available-from-label = Available from
hours-per-week = Hours a week
level = Level
level-beginner = beginner
level-intermediate = intermediate
level-expert = expert
level-any = any level
years = Years
headcount = People wanted
visibility = Who can see this profile
visibility-public = Anyone
visibility-members = Logged-in members
visibility-private = My co-ops only
place = Place
coops = Co-ops
projects = Projects
email = E-mail
links = Links
links-hint = one web address a line
website = Website
network = Network
skills = Skills
skill = Skill
no-skills = No skills listed yet.
broader = Broader skills
narrower = Narrower skills
also-known-as = Also known as:
skill-in-taxonomy = Where this skill sits in the taxonomy
tree-title = { $name } in the skills taxonomy
people-with-skill = People with this skill or a narrower one
description = Description
job-title = Job title
about-you = About you
your-name = Name
public-contact = Show my e-mail address to anyone, not only to logged-in members
skills-hint = Type a skill's name in any language; leave a row empty to remove it.
skills-more = More rows
profile-edit = Edit profile
profile-view = Your public profile
profile-saved = Your profile is saved.

coop-admin = Manage this co-op
coop-admin-of = Manage { $name }
coop-admins = Administrators
coop-public-page = The co-op's public page
members = Members
invite-someone = Invite someone
invite = Send invitation
invitations-pending = Pending invitations
invitation-created = Invitation created. Send this link to the person invited; it works once:
invitation-title = Join a co-op
invitation-heading = Join { $name }
invitation-intro = This invitation was sent to { $name }. Choose a name and a password to create your account.
invitation-accept = Create my account
invitation-revoked = Invitation revoked.
choose-password = Choose a password (10 characters or more)
expires = Expires
no-account = no account yet

project-new = New project
project-edit = Edit project
project-name = Project name
project-coop = Co-op
project-lead = Lead
project-team = Team
project-start = Starts
project-end = Ends
project-needs = Skills needed
project-saved = The project is saved.
project-created = The project is created. You are its lead.
status = Status
status-proposed = proposed
status-open = open
status-active = active
status-completed = completed
status-cancelled = cancelled
proposed-team = Proposed team
no-team = Nobody here covers these skills yet.
uncovered = Still missing:
candidates = Candidates
coverage-chart-title = Skills needed against the proposed team's coverage
coverage-wanted = wanted
coverage-covered = covered by the team
your-projects = Projects you lead
no-coop = (none)

insight-title = Skills insight
insight-intro = For every skill that open or proposed projects need: the places wanted against the people who have it, and who is free now or within 30 days.
insight-empty = No open or proposed project needs a skill yet.
insight-chart-title = Demand against supply per skill
insight-chart-top = (the 25 in shortest supply; every skill is in the table below)
insight-table = The same figures as a table
insight-demand = places wanted
insight-now = available now
insight-soon = within 30 days
insight-supply = people with the skill

admin-accounts = Accounts
admin-state = State
admin-disable = Disable
admin-enable = Enable
admin-proposals = Proposed skills
admin-peers = Peers
proposed-by = Proposed by
peer = Peer
peer-sync = Synchronised
peer-push = Push
peer-resources = Changes applied (of its head)
peer-error = Last error
password = Password

error-not-found = Not found
error-forbidden = Not allowed
error-unauthorized = Please log in
error-conflict = Changed meanwhile
error-bad-request = Something is wrong with this request
error-unavailable = Try again later
error-server = Something went wrong
error-stale = Someone changed this meanwhile. Here is what is stored now; make your change again.
error-login = That e-mail address and password do not match an account.
error-required = Fill this in.
error-number = Enter a whole number.
error-date = Enter a date as YYYY-MM-DD.
error-url = Enter a web address starting with https:// or http://.
error-unknown-skill = No skill of that name. Try another name, or pick one as you type.
error-ambiguous-skill = Several skills have that name; pick one as you type.
error-form = Some fields need attention; see the messages beside them.
error-invalid-value = This value is not accepted.

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
