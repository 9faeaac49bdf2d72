'use client';
import { useEffect, useState } from 'react';
import { useTitle } from '@/lib/config';
import { queryParams, scrubUrl } from '@/lib/nav';
import { RequireSession, useSession } from '@/lib/session';
import { DangerZone } from '@/components/account/DangerZone';
import { EmailSection } from '@/components/account/EmailSection';
import { LinkedAccountsSection } from '@/components/account/LinkedAccountsSection';
import { PasswordSection } from '@/components/account/PasswordSection';
import { ProfileSection } from '@/components/account/ProfileSection';
import { SessionsSection } from '@/components/account/SessionsSection';
import { VerifyBanner } from '@/components/account/VerifyBanner';
import { PageHeading } from '@/components/ui/PageHeading';
import { TopBar } from '@/components/ui/TopBar';

type Notice = { linked?: string; error?: string } | null;

// The result of a link round trip (?linked=<provider> or ?error=<code>),
// read once and then removed from the address bar.
function useLinkNotice(): Notice {
  const [notice, setNotice] = useState<Notice>(null);
  useEffect(() => {
    const q = queryParams();
    const linked = q.get('linked');
    const error = q.get('error');
    if (linked) setNotice({ linked });
    else if (error) setNotice({ error });
    if (linked || error) scrubUrl(['linked', 'error']);
  }, []);
  return notice;
}

function Account() {
  useTitle('Your account');
  const { user } = useSession();
  const notice = useLinkNotice();
  // Bumped after a password change so the sessions list shows the others gone.
  const [sessionsVersion, setSessionsVersion] = useState(0);
  return (
    <div className="min-h-dvh">
      <TopBar />
      <main className="mx-auto max-w-3xl space-y-6 px-4 py-8 sm:py-10">
        <div>
          <PageHeading className="text-2xl">Your account</PageHeading>
          {user && <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">Manage your profile, how you sign in, and where you are signed in.</p>}
        </div>
        <VerifyBanner />
        <ProfileSection />
        <EmailSection />
        <PasswordSection onChanged={() => setSessionsVersion((v) => v + 1)} />
        <SessionsSection version={sessionsVersion} />
        <LinkedAccountsSection notice={notice} />
        <DangerZone />
      </main>
    </div>
  );
}

export default function AccountPage() {
  return (
    <RequireSession>
      <Account />
    </RequireSession>
  );
}
