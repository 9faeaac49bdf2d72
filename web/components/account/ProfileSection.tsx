'use client';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '@/lib/api';
import { errorMessage } from '@/lib/messages';
import { useSession } from '@/lib/session';
import { useFocusInvalid } from '@/lib/validate';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { TextField } from '@/components/ui/TextField';
import { Section } from './Section';

export function ProfileSection() {
  const { user, reload } = useSession();
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const [name, setName] = useState(user?.name ?? '');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [pending, setPending] = useState(false);

  // Another tab or a reload may bring a newer name; do not overwrite typing.
  const lastSeen = useRef(user?.name ?? '');
  useEffect(() => {
    const next = user?.name ?? '';
    if (next !== lastSeen.current) {
      setName((cur) => (cur === lastSeen.current ? next : cur));
      lastSeen.current = next;
    }
  }, [user?.name]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    setSaved(false);
    const v = name.trim();
    if ([...v].length > 200) {
      setError('Use at most 200 characters.');
      focusInvalid();
      return;
    }
    setError(null);
    setPending(true);
    try {
      await api('PATCH', '/api/v1/users/me', { name: v });
      await reload();
      setName(v);
      setSaved(true);
    } catch (err) {
      setError(errorMessage(err));
      focusInvalid();
    } finally {
      setPending(false);
    }
  };

  return (
    <Section title="Profile" description="How you appear to others.">
      <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
        <TextField
          label="Name"
          name="name"
          autoComplete="name"
          value={name}
          maxLength={200}
          onChange={(e) => {
            setName(e.target.value);
            setSaved(false);
          }}
          error={error}
        />
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" pending={pending}>
            Save profile
          </Button>
          {saved && <Alert tone="success" className="py-1.5">Profile saved.</Alert>}
        </div>
      </form>
    </Section>
  );
}
