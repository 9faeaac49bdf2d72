import { AuthShell } from '@/components/ui/AuthShell';
import { TextLink } from '@/components/ui/TextLink';

export default function NotFound() {
  return (
    <AuthShell title="Page not found" footer={<TextLink href="/account/">Go to your account</TextLink>}>
      <p className="text-sm text-zinc-700 dark:text-zinc-300">
        There is no page at this address. Check the link, or start from the sign-in page.
      </p>
      <p className="mt-4">
        <TextLink href="/">Sign in</TextLink>
      </p>
    </AuthShell>
  );
}
