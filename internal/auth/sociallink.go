package auth

import "context"

// StartLink begins linking the caller's account to their account at
// in.Provider: the explicit counterpart of the link a sign-in makes when
// both sides have verified the same address. It returns what StartSocial
// returns, and the flow ends at the same callback (CompleteSocial), which
// then links instead of signing in. Only a signed-in user starts a link
// (the state names them), and only the browser holding the returned value
// completes it, before the state expires. Returns ENotFound for a provider
// that is not enabled and EInvalid for a redirect_to off the allowlist or
// a code_challenge (a link issues no code to protect).
func (s *Accounts) StartLink(ctx context.Context, p *Principal, in SocialStartInput) (location, browser string, err error) {
	if p == nil || p.UserID == "" {
		return "", "", Errorf(EUnauthorized, "Sign in to link an account.")
	}
	return s.startFlow(ctx, in, p.UserID)
}

// linkAccount links the provider's account of profile to the user who
// started the link (st.LinkUserID). The user consented while signed in, so
// neither address has to match or be verified: the identity is found
// again by its subject alone, and the account's own email and its
// verification stay as they are. A failure the browser is told of is
// returned as a code; err is for what the caller should answer with an
// error.
func (s *core) linkAccount(ctx context.Context, st *OAuthState, profile *SocialProfile, c Origin) (failure string, err error) {
	if profile.Provider != st.Provider || profile.Subject == "" {
		return SocialProviderError, nil
	}
	// A second pass only when a concurrent link took the identity, or gave
	// the user one at the provider, between our checks and our insert: the
	// next pass names which.
	for range 2 {
		failure, err = s.linkAccountOnce(ctx, st.LinkUserID, profile, c)
		if ErrorCode(err) != EConflict {
			return failure, err
		}
	}
	// Linked and unlinked again under our feet twice: say it is taken
	// rather than guess further.
	return SocialIdentityInUse, nil
}

func (s *core) linkAccountOnce(ctx context.Context, userID string, profile *SocialProfile, c Origin) (string, error) {
	u, err := s.store.User(ctx, userID)
	switch {
	case ErrorCode(err) == ENotFound:
		// Deleted since the link started: nothing left to link to.
		return SocialInvalidState, nil
	case err != nil:
		return "", err
	case u.Status != StatusActive:
		return SocialAccountDisabled, nil
	}

	id, err := s.store.IdentityBySubject(ctx, profile.Provider, profile.Subject)
	switch ErrorCode(err) {
	case "":
		if id.UserID == u.ID {
			return "", nil // linked already, to this very user: done
		}
		return SocialIdentityInUse, nil
	case ENotFound:
	default:
		return "", err
	}
	ids, err := s.store.Identities(ctx, u.ID)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if id.Provider == profile.Provider {
			// One account per provider: the other one must be unlinked first.
			return SocialAlreadyLinked, nil
		}
	}

	now := s.now()
	ev := newEvent(EventIdentityLinked, now, c).byUser(u.ID)
	ev.Resource = profile.Provider
	err = s.inUser(ctx, u.ID, ev, func(tx UserTx) error {
		return tx.LinkIdentity(ctx, &Identity{
			UserID: u.ID, Provider: profile.Provider, Subject: profile.Subject, Email: profile.Email,
			EmailVerified: profile.EmailVerified, CreatedAt: now, LastUsedAt: now,
		})
	})
	if ErrorCode(err) == ENotFound {
		return SocialInvalidState, nil // deleted between our read and our insert
	}
	if err != nil {
		return "", err
	}
	s.invalidate(ctx, u.ID)
	return "", nil
}
