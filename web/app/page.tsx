'use client';
import { useState } from 'react';
export default function Page() { const [n, setN] = useState(0); return <button className="p-2 rounded bg-blue-600 text-white" onClick={() => setN(n + 1)}>Clicked {n}</button>; }
