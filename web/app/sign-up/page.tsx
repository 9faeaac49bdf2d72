export default function Page() { return <p>sign up</p>; }
