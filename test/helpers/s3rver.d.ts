/** The parts of s3rver (no published types) the test server uses. */
declare module 's3rver' {
  export default class S3rver {
    constructor(o: {
      port?: number;
      address?: string;
      directory: string;
      silent?: boolean;
      serviceEndpoint?: string;
      configureBuckets?: { name: string }[];
    });
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
