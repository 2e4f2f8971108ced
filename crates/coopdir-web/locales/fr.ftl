# Textes de l'interface de coopdir, en français. Mêmes identifiants que en.ftl.

skip-to-content = Aller au contenu
nav-main = Principal
nav-search = Trouver des personnes
nav-coops = Coopératives
nav-projects = Projets
nav-skills = Compétences
nav-insights = Panorama des compétences
nav-account = Votre compte
nav-admin = Administration du serveur
login = Se connecter
logout = Se déconnecter
language = Langue
language-switch = Changer
also-as = Cette page en données :
footer-about = coopdir : un annuaire fédéré des coopératives, de leurs membres, compétences et projets.
back-home = Retour à l'accueil
search = Rechercher
none-yet = Rien pour l'instant.
see-all = Voir tout le monde
page = Page
pages = Pages
page-prev = Précédente
page-next = Suivante
any = Indifférent
required = (obligatoire)
save = Enregistrer
cancel = Annuler
accept = Accepter
reject = Refuser
revoke = Révoquer
actions = Actions

home-title = Trouver des collaborateurs
home-heading = Trouvez avec qui travailler dans les coopératives
home-intro = Cherchez par compétence : une compétence large trouve aussi les personnes aux compétences plus précises.
home-open-projects = Projets ouverts
home-recent-people = Profils récemment mis à jour

people-count = { $n ->
    [one] { $n } personne
   *[other] { $n } personnes
}
coops-count = { $n ->
    [one] { $n } coopérative
   *[other] { $n } coopératives
}
projects-count = { $n ->
    [one] { $n } projet
   *[other] { $n } projets
}
skills-count = { $n ->
    [one] { $n } compétence
   *[other] { $n } compétences
}
results-count = { $n ->
    [0] Personne ne correspond.
    [one] { $n } personne correspond.
   *[other] { $n } personnes correspondent.
}
hours-count = { $n ->
    [one] { $n } heure par semaine
   *[other] { $n } heures par semaine
}

search-title = Trouver des personnes
search-skill = Compétence
search-skills = Compétences
search-add-skill = Ajouter une compétence
search-skill-placeholder = par ex. Python, accessibilité, DevOps
search-button = Rechercher
search-match = Correspondance
search-match-all = toutes ces compétences
search-match-any = l'une de ces compétences
search-level = Au moins au niveau
search-available = Disponible
search-available-now = maintenant
search-available-30 = sous 30 jours
search-available-90 = sous 90 jours
search-min-hours = Au moins ce nombre d'heures par semaine
search-place = Lieu
search-text = Mots du profil
search-did-you-mean = Vouliez-vous dire :
facet-skill = Compétences
facet-coop = Coopératives
facet-place = Lieux
facet-availability = Disponibilité
matched-skills = Compétences trouvées
matched-through = par { $name }
home-server = Serveur d'origine
this-server = ce serveur

availability = Disponibilité
availability-available = Disponible
availability-partly = Partiellement disponible
availability-unavailable = Indisponible
availability-unknown = Disponibilité non indiquée
available-from = à partir du { $name }
available-from-label = Disponible à partir du
hours-per-week = Heures par semaine
level = Niveau
level-beginner = débutant
level-intermediate = intermédiaire
level-expert = expert
level-any = tout niveau
years = Années
headcount = Personnes recherchées
visibility = Qui peut voir ce profil
visibility-public = Tout le monde
visibility-members = Les membres connectés
visibility-private = Mes coopératives seulement
place = Lieu
coops = Coopératives
projects = Projets
email = Courriel
links = Liens
links-hint = une adresse web par ligne
website = Site web
network = Réseau
skills = Compétences
skill = Compétence
no-skills = Aucune compétence indiquée pour l'instant.
broader = Compétences plus larges
narrower = Compétences plus précises
also-known-as = Aussi appelée :
skill-in-taxonomy = La place de cette compétence dans la taxonomie
tree-title = { $name } dans la taxonomie des compétences
people-with-skill = Personnes ayant cette compétence ou une plus précise
description = Description
job-title = Métier
about-you = À propos de vous
your-name = Nom
public-contact = Montrer mon adresse électronique à tous, pas seulement aux membres connectés
skills-hint = Tapez le nom d'une compétence dans n'importe quelle langue ; laissez une ligne vide pour la retirer.
skills-more = Plus de lignes
profile-edit = Modifier le profil
profile-view = Votre profil public
profile-saved = Votre profil est enregistré.

coop-admin = Gérer cette coopérative
coop-admin-of = Gérer { $name }
coop-admins = Administrateurs
coop-public-page = La page publique de la coopérative
members = Membres
invite-someone = Inviter quelqu'un
invite = Envoyer l'invitation
invitations-pending = Invitations en attente
invitation-created = Invitation créée. Envoyez ce lien à la personne invitée ; il ne sert qu'une fois :
invitation-title = Rejoindre une coopérative
invitation-heading = Rejoindre { $name }
invitation-intro = Cette invitation a été envoyée à { $name }. Choisissez un nom et un mot de passe pour créer votre compte.
invitation-accept = Créer mon compte
invitation-revoked = Invitation révoquée.
choose-password = Choisissez un mot de passe (10 caractères ou plus)
expires = Expire le
no-account = pas encore de compte

project-new = Nouveau projet
project-edit = Modifier le projet
project-name = Nom du projet
project-coop = Coopérative
project-lead = Responsable
project-team = Équipe
project-start = Début
project-end = Fin
project-needs = Compétences recherchées
project-saved = Le projet est enregistré.
project-created = Le projet est créé. Vous en êtes responsable.
status = État
status-proposed = proposé
status-open = ouvert
status-active = en cours
status-completed = terminé
status-cancelled = annulé
proposed-team = Équipe proposée
no-team = Personne ici ne couvre encore ces compétences.
uncovered = Il manque encore :
candidates = Candidats
coverage-chart-title = Compétences recherchées et couverture par l'équipe proposée
coverage-wanted = recherchées
coverage-covered = couvertes par l'équipe
your-projects = Projets dont vous êtes responsable
no-coop = (aucune)

insight-title = Panorama des compétences
insight-intro = Pour chaque compétence recherchée par des projets ouverts ou proposés : les places à pourvoir face aux personnes qui l'ont, et qui est libre maintenant ou sous 30 jours.
insight-empty = Aucun projet ouvert ou proposé ne recherche encore de compétence.
insight-chart-title = Demande et offre par compétence
insight-chart-top = (les 25 les plus en manque ; toutes les compétences sont dans le tableau ci-dessous)
insight-table = Les mêmes chiffres en tableau
insight-demand = places à pourvoir
insight-now = disponibles maintenant
insight-soon = sous 30 jours
insight-supply = personnes ayant la compétence

admin-accounts = Comptes
admin-state = État
admin-disable = Désactiver
admin-enable = Réactiver
admin-proposals = Compétences proposées
admin-peers = Pairs
proposed-by = Proposée par
peer = Pair
peer-sync = Synchronisé
peer-push = Envoi direct
peer-resources = Modifications appliquées (sur sa tête)
peer-error = Dernière erreur
password = Mot de passe

error-not-found = Introuvable
error-forbidden = Non autorisé
error-unauthorized = Veuillez vous connecter
error-conflict = Modifié entre-temps
error-bad-request = Cette requête pose problème
error-unavailable = Réessayez plus tard
error-server = Une erreur s'est produite
error-stale = Quelqu'un a modifié ceci entre-temps. Voici ce qui est enregistré maintenant ; refaites votre modification.
error-login = Cette adresse et ce mot de passe ne correspondent à aucun compte.
error-required = Veuillez remplir ce champ.
error-number = Saisissez un nombre entier.
error-date = Saisissez une date au format AAAA-MM-JJ.
error-url = Saisissez une adresse web commençant par https:// ou http://.
error-unknown-skill = Aucune compétence de ce nom. Essayez un autre nom, ou choisissez-en une pendant la saisie.
error-ambiguous-skill = Plusieurs compétences portent ce nom ; choisissez-en une pendant la saisie.
error-form = Certains champs sont à revoir ; voir les messages à côté.
error-invalid-value = Cette valeur n'est pas acceptée.

month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre
