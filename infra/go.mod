module github.com/talentforge/authd/infra

go 1.26.7
