// Limits raised for every test server, in-process or child: tests register many users from
// 127.0.0.1. The limits' own tests set small values.
export const TEST_LIMITS = { REGISTER_RATE_LIMIT_PER_IP: '100000', IDENTITY_RATE_LIMIT_PER_IP: '100000' };
