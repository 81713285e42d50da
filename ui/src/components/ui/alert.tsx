import type { ReactNode } from 'react';

type AlertProps = {
  tone?: 'error' | 'info' | 'warning';
  children: ReactNode;
  action?: ReactNode;
  testId?: string;
};

export function Alert({ tone = 'error', children, action, testId }: AlertProps) {
  return (
    <div
      className={`alert alert--${tone}`}
      role={tone === 'error' ? 'alert' : 'status'}
      data-testid={testId}
    >
      <div>{children}</div>
      {action}
    </div>
  );
}
