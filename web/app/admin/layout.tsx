import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'authd · Admin console' };

export default function AdminLayout({ children }: { children: React.ReactNode }) {
  return children;
}
